//! `testsmith report merge`: joins the JSON reports of runs over disjoint shares of a project
//! (`--partition hash:I/N` on N CI runners) into the report one run over everything gives.
//!
//! The rules, applied recursively: lists are joined and put back in the order a run gives
//! them (by path, then test); counts are added; a percentage beside a
//! `{"executed", "total"}` tally (coverage), and a mutation `score` beside its counts, are
//! computed again from the added counts; snapshots of shared
//! state (`cache_entries`, jobs waiting) take the largest; anything else must agree.

use serde_json::{Map, Value};

/// Fields naming a snapshot of state every run saw (not work a run did): not added up.
const SNAPSHOTS: &[&str] = &["cache_entries", "queue_waiting", "jobs_waiting", "waiting"];

/// Fields that order a report's lists, most significant first.
const ORDER_BY: &[&str] = &[
    "path",
    "package",
    "project",
    "source_file",
    "test_file",
    "file",
    "line",
    "test",
    "member",
];

/// Merges `reports` (at least one) into one; the error names the first field they disagree
/// on.
pub fn merge_reports(reports: Vec<Value>) -> Result<Value, String> {
    let mut reports = reports.into_iter();
    let first = reports.next().ok_or("no report to merge")?;
    reports.try_fold(first, |merged, next| merge_value(merged, next, ""))
}

fn merge_value(left: Value, right: Value, at: &str) -> Result<Value, String> {
    match (left, right) {
        (Value::Object(left), Value::Object(right)) => merge_objects(left, right, at),
        (Value::Array(mut left), Value::Array(right)) => {
            if !right.is_empty() {
                left.extend(right);
                put_in_report_order(&mut left);
            }
            Ok(Value::Array(left))
        }
        (Value::Number(left), Value::Number(right)) => {
            let field = at.rsplit('.').next().unwrap_or(at);
            Ok(if SNAPSHOTS.contains(&field) {
                max_number(&left, &right)
            } else {
                add_numbers(&left, &right)
            })
        }
        (Value::Null, other) | (other, Value::Null) => Ok(other),
        (left, right) if left == right => Ok(left),
        (left, right) => Err(format!(
            "the reports disagree on `{}`: {left} and {right} (reports of different commands or \
             options?)",
            at.trim_start_matches('.')
        )),
    }
}

fn merge_objects(
    mut left: Map<String, Value>,
    right: Map<String, Value>,
    at: &str,
) -> Result<Value, String> {
    for (key, value) in right {
        match left.get_mut(&key) {
            Some(existing) => {
                *existing = merge_value(existing.take(), value, &format!("{at}.{key}"))?;
            }
            None => {
                left.insert(key, value);
            }
        }
    }
    recompute_percent(&mut left);
    recompute_score(&mut left);
    Ok(Value::Object(left))
}

/// A mutation `score` beside its counts is theirs again: caught (timeouts count as caught)
/// over caught and missed, `null` when nothing was judged — as the mutants report computes
/// it.
fn recompute_score(object: &mut Map<String, Value>) {
    if !object.contains_key("score") {
        return;
    }
    let count = |field: &str| object.get(field).and_then(Value::as_u64);
    let (Some(caught), Some(timeout), Some(missed)) =
        (count("caught"), count("timeout"), count("missed"))
    else {
        return;
    };
    let judged = caught + timeout + missed;
    let score = (judged > 0).then(|| 100.0 * (caught + timeout) as f64 / judged as f64);
    object.insert("score".to_owned(), score.map_or(Value::Null, Value::from));
}

/// A `percent` beside a `total: {executed, total}` tally (coverage) is the tally's again,
/// rounded to one decimal as the coverage report rounds it.
fn recompute_percent(object: &mut Map<String, Value>) {
    let Some(tally) = object.get("total").and_then(Value::as_object) else {
        return;
    };
    let (Some(executed), Some(total)) = (
        tally.get("executed").and_then(Value::as_u64),
        tally.get("total").and_then(Value::as_u64),
    ) else {
        return;
    };
    if object.contains_key("percent") {
        let percent = 100.0 * executed as f64 / total.max(1) as f64;
        object.insert(
            "percent".to_owned(),
            Value::from((percent * 10.0).round() / 10.0),
        );
    }
}

fn add_numbers(left: &serde_json::Number, right: &serde_json::Number) -> Value {
    match (left.as_u64(), right.as_u64()) {
        (Some(left), Some(right)) => Value::from(left.saturating_add(right)),
        _ => Value::from(left.as_f64().unwrap_or(0.0) + right.as_f64().unwrap_or(0.0)),
    }
}

fn max_number(left: &serde_json::Number, right: &serde_json::Number) -> Value {
    if left.as_f64().unwrap_or(0.0) >= right.as_f64().unwrap_or(0.0) {
        Value::Number(left.clone())
    } else {
        Value::Number(right.clone())
    }
}

/// Puts a joined list back in report order: objects by the first of [`ORDER_BY`]'s fields
/// they have, then the next; plain values (paths) as text. Lists inside the items are left
/// as their run made them: one share made each item whole.
fn put_in_report_order(items: &mut [Value]) {
    if items.iter().all(Value::is_object) {
        items.sort_by_cached_key(order_key);
    } else if items.iter().all(Value::is_string) {
        items.sort_by_cached_key(|item| item.as_str().unwrap_or("").replace('/', "\0"));
    }
}

fn order_key(item: &Value) -> Vec<String> {
    ORDER_BY
        .iter()
        .filter_map(|field| item.get(field))
        .map(|value| match value {
            // Zero-padded, so line 9 sorts before line 10.
            Value::Number(number) => format!("{:020}", number.as_u64().unwrap_or(0)),
            // Paths compare by component, as a run sorts them (`a/b` before `a.go`).
            Value::String(text) => text.replace('/', "\0"),
            other => other.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_add_lists_join_in_order_and_percentages_follow_their_tally() {
        let a = json!({
            "packages": [{"package": "b", "total": {"executed": 1, "total": 4}, "percent": 25.0}],
            "total": {"executed": 1, "total": 4}, "percent": 25.0,
            "summary": {"written": 2, "dry_run": false, "cache_entries": 7, "failed": []},
        });
        let b = json!({
            "packages": [{"package": "a", "total": {"executed": 2, "total": 2}, "percent": 100.0}],
            "total": {"executed": 2, "total": 2}, "percent": 100.0,
            "summary": {"written": 3, "dry_run": false, "cache_entries": 9, "failed": [{"path": "x"}]},
        });
        let merged = merge_reports(vec![a, b]).unwrap();
        let files = merge_reports(vec![
            json!({"files": [{"path": "hooks.go"}]}),
            json!({"files": [{"path": "hooks/syslog/syslog.go"}]}),
        ])
        .unwrap();
        assert_eq!(
            files["files"][0]["path"], "hooks/syslog/syslog.go",
            "paths in a run's order: by component"
        );
        assert_eq!(merged["packages"][0]["package"], "a");
        assert_eq!(merged["packages"][1]["package"], "b");
        assert_eq!(merged["total"], json!({"executed": 3, "total": 6}));
        assert_eq!(merged["percent"], json!(50.0));
        assert_eq!(merged["summary"]["written"], json!(5));
        assert_eq!(
            merged["summary"]["cache_entries"],
            json!(9),
            "a snapshot, not added"
        );
        assert_eq!(merged["summary"]["failed"], json!([{"path": "x"}]));
    }

    #[test]
    fn a_mutation_score_is_computed_again_from_the_joined_counts() {
        let share = |caught: u64, missed: u64| {
            json!({"summary": {"caught": caught, "timeout": 0, "missed": missed,
                               "score": 100.0 * caught as f64 / (caught + missed) as f64}})
        };
        let merged = merge_reports(vec![share(3, 1), share(1, 3)]).unwrap();
        assert_eq!(merged["summary"]["score"], json!(50.0));
        assert_eq!(merged["summary"]["caught"], json!(4));
    }

    #[test]
    fn reports_that_disagree_are_refused_with_the_field() {
        let error = merge_reports(vec![
            json!({"summary": {"dry_run": true}}),
            json!({"summary": {"dry_run": false}}),
        ])
        .unwrap_err();
        assert!(error.contains("`summary.dry_run`"), "{error}");
    }
}
