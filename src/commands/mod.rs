//! One module per subcommand; each turns parsed arguments into an [`Outcome`].

pub mod analyze;
pub mod generate;
mod generate_llm;

use crate::cli::Lang;
use testsmith_driver::Driver;

/// The drivers a run uses: all of them, or the one `--lang` names.
pub fn selected_drivers(lang: Option<Lang>) -> Vec<&'static dyn Driver> {
    match lang {
        None => crate::drivers::DRIVERS.to_vec(),
        Some(lang) => crate::drivers::by_name(lang.driver_name())
            .into_iter()
            .collect(),
    }
}
