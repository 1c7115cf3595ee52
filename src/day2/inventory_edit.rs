//! Day-2 changes to the inventory file, in place with toml_edit: the operator's comments,
//! order and formatting stay; the result must still be a valid inventory before it is written
//! (atomically, keeping the file's mode).

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, value};

use crate::inventory::{self, Severity};

fn nodes_mut(doc: &mut DocumentMut) -> Result<&mut toml_edit::ArrayOfTables, String> {
    doc.entry("nodes")
        .or_insert(Item::ArrayOfTables(Default::default()))
        .as_array_of_tables_mut()
        .ok_or_else(|| "`nodes` is not an array of tables ([[nodes]])".to_string())
}

/// The text with a new `[[nodes]]` entry after the last one.
pub fn with_node_added(
    text: &str,
    name: &str,
    address: &str,
    role: &str,
) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let nodes = nodes_mut(&mut doc)?;
    if nodes
        .iter()
        .any(|t| t.get("name").and_then(|v| v.as_str()) == Some(name))
    {
        return Err(format!("the inventory has a node named {name:?} already"));
    }
    let mut t = Table::new();
    t.insert("name", value(name));
    t.insert("address", value(address));
    t.insert("role", value(role));
    nodes.push(t);
    Ok(doc.to_string())
}

/// The text without the `[[nodes]]` entry called `name` (its comments go with it).
pub fn with_node_removed(text: &str, name: &str) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    let nodes = nodes_mut(&mut doc)?;
    let i = nodes
        .iter()
        .position(|t| t.get("name").and_then(|v| v.as_str()) == Some(name))
        .ok_or_else(|| format!("the inventory has no node named {name:?}"))?;
    nodes.remove(i);
    Ok(doc.to_string())
}

/// Checks `text` as an inventory; `Err` lists every error with its key and fix.
pub fn validate(text: &str) -> Result<(), String> {
    let file = inventory::parse(text)?;
    match inventory::ssh_effective::check(&file) {
        Ok(_) => Ok(()),
        Err(issues) => Err(issues
            .iter()
            .filter(|i| i.severity == Severity::Error)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

/// Writes `text` over `path` atomically (a sibling temp file renamed), keeping the mode.
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let tmp = path.with_extension("toml.kha-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}

/// Applies `edit` to the file at `path`, validates the result and writes it.
pub fn edit_file(
    path: &Path,
    edit: impl FnOnce(&str) -> Result<String, String>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let new = edit(&text)?;
    validate(&new).map_err(|e| {
        format!(
            "{} would not be valid after this change, so it was left alone:\n{e}",
            path.display()
        )
    })?;
    write(path, &new).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_remove_keep_comments_and_validate() {
        let t = inventory::EXAMPLE;
        let added = with_node_added(t, "worker4", "10.0.0.24", "worker").unwrap();
        assert!(validate(&added).is_ok());
        assert!(
            added.ends_with(
                "[[nodes]]\nname = \"worker4\"\naddress = \"10.0.0.24\"\nrole = \"worker\"\n"
            ),
            "{added}"
        );
        assert!(added.contains("# RFC 1123 label"), "comments kept");
        assert!(
            with_node_added(t, "worker1", "10.0.0.99", "worker")
                .unwrap_err()
                .contains("already")
        );
        let removed = with_node_removed(&added, "master1").unwrap();
        assert!(!removed.contains("\"master1\""));
        assert!(removed.contains("# RFC 1123 label"));
        assert!(validate(&removed).is_ok());
        assert!(
            with_node_removed(t, "nope")
                .unwrap_err()
                .contains("no node named")
        );
        // A duplicate address is refused by validation, naming the key.
        let dup = with_node_added(t, "worker4", "10.0.0.21", "worker").unwrap();
        let e = validate(&dup).unwrap_err();
        assert!(e.contains("10.0.0.21"), "{e}");
    }
}
