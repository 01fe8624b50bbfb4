//! Plain-text tables for people (the CLI prints JSON with `--json` for programs).

use serde::Serialize;
use serde_json::Value;

/// A table: headers and rows of cells, rendered with columns aligned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Display width of a string: CJK and full-width characters take two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            let wide = (0x1100..=0x115F).contains(&c)
                || (0x2E80..=0xA4CF).contains(&c)
                || (0xAC00..=0xD7A3).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFE30..=0xFE4F).contains(&c)
                || (0xFF00..=0xFF60).contains(&c)
                || (0xFFE0..=0xFFE6).contains(&c);
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells are blank, extra ones are dropped).
    pub fn push(&mut self, row: impl IntoIterator<Item = impl Into<String>>) {
        let mut row: Vec<String> = row.into_iter().map(Into::into).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    /// A table of JSON objects: one column per key (in the order keys first appear), one
    /// row per object.
    pub fn from_objects(objects: &[Value]) -> Self {
        let mut headers: Vec<String> = Vec::new();
        for o in objects {
            if let Value::Object(map) = o {
                for k in map.keys() {
                    if !headers.contains(k) {
                        headers.push(k.clone());
                    }
                }
            }
        }
        let mut t = Table::new(headers.clone());
        for o in objects {
            t.push(
                headers
                    .iter()
                    .map(|h| cell(o.get(h).unwrap_or(&Value::Null))),
            );
        }
        t
    }

    /// The text, one line per row under a header line and a rule, ending in a newline.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(c));
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
                s.push_str(c);
                if i + 1 < cells.len() {
                    s.push_str(&" ".repeat(w - width(c) + 2));
                }
            }
            s.push('\n');
            s
        };
        let mut out = line(&self.headers);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(&rule));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

/// A JSON value as one cell: strings bare, null as `-`, arrays joined by commas.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A typed value as one cell: the cell of its JSON form, so that a table spells a value as
/// the node's JSON does (`PROSECUTION_REVIEW`, `RECEIVED`).
pub fn cell_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).map_or_else(|_| "-".into(), |v| cell(&v))
}

/// Key-value lines for one JSON object: `key: value`, keys aligned.
pub fn fields(object: &Value) -> String {
    let Value::Object(map) = object else {
        return format!("{}\n", cell(object));
    };
    let flat = |v: &Value| match v {
        Value::Object(_) => false,
        Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
        _ => true,
    };
    let shown: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| flat(v)).collect();
    let w = shown.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    shown
        .iter()
        .map(|(k, v)| format!("{k}:{} {}\n", " ".repeat(w - width(k)), cell(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_counting_wide_characters_twice() {
        let mut t = Table::new(["org", "n"]);
        t.push(["兰州", "1"]);
        t.push(["LZ-PSB", "22"]);
        assert_eq!(t.render(), "org     n\n------  --\n兰州    1\nLZ-PSB  22\n");
    }

    #[test]
    fn objects_become_rows_with_the_union_of_their_keys() {
        let rows = [
            serde_json::json!({"a": 1, "b": "x"}),
            serde_json::json!({"b": null, "c": ["p", "q"]}),
        ];
        let t = Table::from_objects(&rows);
        assert_eq!(t.render(), "a  b  c\n-  -  ---\n1  x  -\n-  -  p,q\n");
    }
}
