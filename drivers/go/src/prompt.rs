//! The skeleton a model completes for a member's test (see
//! [`scaffold::flat_skeleton`](crate::scaffold::flat_skeleton)): each input a local left to
//! fill, the receiver built with its constructor, the call written, the results compared
//! with `want` values left to fill.
//!
//! ```go
//! func TestRect_Area(t *testing.T) {
//!     w := … // float64
//!     h := … // float64
//!     r, err := NewRect(w, h)
//!     if err != nil {
//!         t.Fatalf("NewRect() error = %v", err)
//!     }
//!     got := r.Area()
//!     want := … // float64
//!     if got != want {
//!         t.Errorf("Rect.Area() = %v, want %v", got, want)
//!     }
//! }
//! ```
//!
//! Measured with a real 0.5B model (docs/benchmarks.md): given an existing test of the
//! package as the example, it copied that test's body into unrelated tests; given the
//! table-driven scaffold to fill, it looped on the scaffold's head until the token cap. A
//! flat skeleton with the call written has only values left to choose.

use crate::scaffold;
use testsmith_driver::{Member, SourceFile};

/// The skeleton of `member`'s test named `test_name`, or `None` when the member has no
/// scaffold (a type, a member whose types cannot be instantiated).
pub(crate) fn skeleton(
    source: &SourceFile<'_>,
    member: &Member,
    test_name: &str,
) -> Option<String> {
    scaffold::flat_skeleton(source, member, test_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GoDriver;
    use std::path::Path;
    use testsmith_driver::{Driver, FileMembers};

    const SOURCE: &str = "package shapes\n\ntype Rect struct{ W, H float64 }\n\n\
        func NewRect(w, h float64) (*Rect, error) { return &Rect{W: w, H: h}, nil }\n\n\
        func (r Rect) Area() float64 { return r.W * r.H }\n\n\
        func (r *Rect) Scale(k float64) { r.W *= k }\n\n\
        func Sum(xs ...int) int { return 0 }\n\ntype Rect2 int\n\n\
        type Circle struct {\n\tR float64 // radius\n\tname string\n}\n\n\
        func (c Circle) Area() float64 { return c.R }\n\n\
        type Bag struct{ items []int }\n\nfunc (b *Bag) Len() int { return len(b.items) }\n";

    fn skeleton_of(name: &str, test_name: &str) -> Option<String> {
        let file: FileMembers = GoDriver.analyze(Path::new("shapes.go"), SOURCE);
        let package = vec![file.clone()];
        let source = SourceFile {
            members: &file,
            text: SOURCE,
            package: &package,
        };
        // `Owner.name` for a method whose name another type's method shares.
        let (owner, name) = name
            .split_once('.')
            .map_or((None, name), |(o, n)| (Some(o), n));
        let member = file
            .members
            .iter()
            .find(|m| m.name == name && (owner.is_none() || m.owner.as_deref() == owner))
            .unwrap();
        skeleton(&source, member, test_name)
    }

    #[test]
    fn a_method_is_called_on_a_receiver_built_with_its_constructor() {
        assert_eq!(
            skeleton_of("Area", "TestRect_Area_2").unwrap(),
            "func TestRect_Area_2(t *testing.T) {\n\tw := … // float64\n\th := … // float64\n\t\
             r, err := NewRect(w, h)\n\tif err != nil {\n\t\tt.Fatalf(\"NewRect() error = %v\", \
             err)\n\t}\n\tgot := r.Area()\n\twant := … // float64\n\tif got != want {\n\t\t\
             t.Errorf(\"Rect.Area() = %v, want %v\", got, want)\n\t}\n}"
        );
    }

    #[test]
    fn errors_stop_the_test_and_a_pointer_receiver_is_compared_after_a_call_without_results() {
        let code = skeleton_of("NewRect", "TestNewRect").unwrap();
        assert!(
            code.contains("\tgot, err := NewRect(w, h)\n\tif err != nil {\n\t\tt.Fatalf("),
            "{code}"
        );
        assert!(
            code.contains("want := … // *Rect\n\tif !reflect.DeepEqual(got, want) {"),
            "{code}"
        );
        let code = skeleton_of("Scale", "TestRect_Scale").unwrap();
        assert!(
            code.contains(
                "\tk := … // float64\n\tr.Scale(k)\n\twant := … // *Rect, as r is after the \
                 call\n\tif !reflect.DeepEqual(r, want) {\n\t\tt.Errorf(\"Rect.Scale() left %v, \
                 want %v\", r, want)\n\t}\n}"
            ),
            "{code}"
        );
        let code = skeleton_of("Sum", "TestSum").unwrap();
        assert!(
            code.contains("\txs := … // []int\n\tgot := Sum(xs...)\n"),
            "{code}"
        );
    }

    #[test]
    fn a_struct_without_a_constructor_is_built_from_its_fields() {
        let code = skeleton_of("Circle.Area", "TestCircle_Area").unwrap();
        assert!(
            code.contains("\tc := Circle{…} // R float64; name string\n\tgot := c.Area()\n"),
            "{code}"
        );
        let code = skeleton_of("Len", "TestBag_Len").unwrap();
        assert!(
            code.contains("\tb := &Bag{…} // items []int\n\tgot := b.Len()\n"),
            "{code}"
        );
    }

    #[test]
    fn a_type_has_no_skeleton() {
        assert_eq!(skeleton_of("Rect2", "TestRect2"), None);
    }
}
