//! The driver registry: every language testsmith knows, one line each.

use testsmith_driver::Driver;
use testsmith_driver_go::GoDriver;
use testsmith_driver_rust::RustDriver;

/// All drivers, in the order their languages are listed in help and output.
pub static DRIVERS: &[&dyn Driver] = &[&GoDriver, &RustDriver];

/// The driver named `name`, if any.
pub fn by_name(name: &str) -> Option<&'static dyn Driver> {
    DRIVERS.iter().copied().find(|driver| driver.name() == name)
}

/// The driver that claims `path` by its extension, among `drivers`.
pub fn for_path<'d>(drivers: &[&'d dyn Driver], path: &std::path::Path) -> Option<&'d dyn Driver> {
    drivers.iter().copied().find(|driver| driver.claims(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn go_driver_claims_go_files() {
        assert_eq!(
            for_path(DRIVERS, Path::new("a/b.go")).map(|d| d.name()),
            Some("go")
        );
    }

    #[test]
    fn rust_driver_claims_rs_files() {
        assert_eq!(
            for_path(DRIVERS, Path::new("src/lib.rs")).map(|d| d.name()),
            Some("rust")
        );
    }

    #[test]
    fn driver_names_are_unique() {
        let mut names: Vec<_> = DRIVERS.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DRIVERS.len());
    }

    #[test]
    fn unclaimed_files_have_no_driver() {
        assert!(for_path(DRIVERS, Path::new("README.md")).is_none());
    }
}
