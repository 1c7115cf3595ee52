//! The node tables as a spreadsheet (Tab cell by cell, ↑↓ by row, Enter onwards), their rows
//! (add, remove, move between tables), the control plane that runs `kubeadm init` (the first
//! one, chosen explicitly), and jumping to the fields with errors.

use super::field::Field;
use super::form::{Col, FieldId, Form, NodeRow, Page, Role};
use crate::inventory::Severity;

impl Form {
    /// The table the focused node row is in (control planes when nothing is focused).
    pub fn focused_role(&self) -> Role {
        match self.focused() {
            Some(FieldId::Node { row, .. }) => self
                .rows
                .get(row)
                .map(|r| r.role)
                .unwrap_or(Role::ControlPlane),
            _ => Role::ControlPlane,
        }
    }

    /// The control plane that runs `kubeadm init`: the first one (control planes are kept first,
    /// and the inventory is written in this order).
    pub fn init_row(&self) -> Option<usize> {
        self.rows
            .first()
            .filter(|r| r.role == Role::ControlPlane)
            .map(|_| 0)
    }

    pub fn init_name(&self) -> Option<String> {
        self.init_row()
            .map(|i| self.rows[i].name.text().to_string())
    }

    /// Adds an empty row at the end of a table and focuses its address.
    pub fn add_row(&mut self, role: Role) {
        let prefix = match role {
            Role::ControlPlane => "master",
            Role::Worker => "worker",
        };
        let name = (1..)
            .map(|i| format!("{prefix}{i}"))
            .find(|n| self.rows.iter().all(|r| r.name.text() != n))
            .expect("a free name");
        let at = match role {
            Role::ControlPlane => self.control_planes(),
            Role::Worker => self.rows.len(),
        };
        self.rows.insert(
            at,
            NodeRow {
                role,
                name: Field::new(&name),
                address: Field::new(""),
                user: Field::new(""),
                port: Field::new(""),
                identity_file: None,
            },
        );
        self.page = Page::Nodes;
        self.focus = at * Col::ALL.len() + 1;
        self.revalidate();
    }

    /// Removes the focused row. Returns a note when this changed which node runs `kubeadm init`.
    pub fn remove_row(&mut self) -> Option<String> {
        let Some(FieldId::Node { row, col }) = self.focused() else {
            return None;
        };
        let init_before = self.init_name();
        self.rows.remove(row);
        let n = self.rows.len();
        let row = row.min(n.saturating_sub(1));
        self.focus = row * Col::ALL.len() + col as usize;
        if n == 0 {
            self.focus = 0;
        }
        self.revalidate();
        self.init_change(init_before)
    }

    fn init_change(&self, before: Option<String>) -> Option<String> {
        let now = self.init_name();
        (now != before).then(|| match now {
            Some(n) => format!("{n} now runs kubeadm init (the first control plane)"),
            None => "no control plane is left to run kubeadm init".into(),
        })
    }

    /// Moves the focused row to the other table. The control plane that runs `kubeadm init` is
    /// not moved while others exist: the operator first chooses another one (`make_first`), so
    /// that which node initialises the cluster never changes silently.
    pub fn toggle_role(&mut self) -> Result<(), String> {
        let Some(FieldId::Node { row, col }) = self.focused() else {
            return Ok(());
        };
        if self.init_row() == Some(row) && self.control_planes() > 1 {
            return Err(format!(
                "{} runs kubeadm init: make another control plane the first (Ctrl-P on it) before turning this one into a worker",
                self.rows[row].name.text()
            ));
        }
        let mut r = self.rows.remove(row);
        r.role = match r.role {
            Role::ControlPlane => Role::Worker,
            Role::Worker => Role::ControlPlane,
        };
        // A worker turned control plane joins at the end: it never takes over `kubeadm init`
        // (unless there is no other control plane).
        let at = match r.role {
            Role::ControlPlane => self.control_planes(),
            Role::Worker => self.rows.len(),
        };
        self.rows.insert(at, r);
        self.focus = at * Col::ALL.len() + col as usize;
        self.revalidate();
        Ok(())
    }

    /// Makes the focused control plane the one that runs `kubeadm init` (moves it first).
    pub fn make_first(&mut self) -> Result<String, String> {
        let Some(FieldId::Node { row, col }) = self.focused() else {
            return Err("focus a control plane first".into());
        };
        if self.rows[row].role != Role::ControlPlane {
            return Err(format!(
                "{} is a worker: only a control plane can run kubeadm init (Ctrl-T makes it one)",
                self.rows[row].name.text()
            ));
        }
        let r = self.rows.remove(row);
        self.rows.insert(0, r);
        self.focus = col as usize;
        self.revalidate();
        Ok(format!(
            "{} runs kubeadm init (the first control plane)",
            self.rows[0].name.text()
        ))
    }

    /// Tab / Shift-Tab: the next field; on the node tables cell by cell, wrapping to the next row.
    pub fn focus_next(&mut self, step: isize) {
        let n = self.focusables(self.page).len();
        if n > 0 {
            self.focus = (self.focus as isize + step).rem_euclid(n as isize) as usize;
        }
    }

    /// ↑/↓: on the node tables the same column of the row above or below, elsewhere the field.
    pub fn focus_vertical(&mut self, step: isize) {
        if self.page == Page::Nodes {
            let n = self.focusables(Page::Nodes).len() as isize;
            let to = self.focus as isize + step * Col::ALL.len() as isize;
            if (0..n).contains(&to) {
                self.focus = to as usize;
            }
        } else {
            self.focus_next(step);
        }
    }

    /// Enter on the node tables: the next cell; false on the last cell of the last row (move on).
    pub fn enter_next_cell(&mut self) -> bool {
        let n = self.focusables(Page::Nodes).len();
        if self.focus + 1 < n {
            self.focus += 1;
            true
        } else {
            false
        }
    }

    /// Every place an error is shown, in page order: (page, focus index) of the field, or the
    /// page alone for errors about no single field (e.g. "no nodes are listed").
    fn error_places(&self) -> Vec<(Page, Option<usize>)> {
        let mut v = Vec::new();
        for page in Page::ALL {
            let fields = self.focusables(page);
            for (i, id) in fields.iter().enumerate() {
                if self.issues_of(*id).any(|is| is.severity == Severity::Error) {
                    v.push((page, Some(i)));
                }
            }
            let keys: Vec<String> = fields.iter().map(|f| f.key()).collect();
            if self.issues.iter().any(|i| {
                i.severity == Severity::Error
                    && Page::of_key(&i.key) == page
                    && !keys.contains(&i.key)
            }) {
                v.push((page, None));
            }
        }
        v
    }

    /// Goes to the next field with an error after the focus (wrapping, across pages); returns
    /// its page, or `None` when there is no error.
    pub fn jump_to_next_error(&mut self) -> Option<Page> {
        let places = self.error_places();
        let here = (self.page, Some(self.focus));
        let next = places
            .iter()
            .find(|p| (p.0, p.1.unwrap_or(usize::MAX)) > (here.0, here.1.unwrap_or(0)))
            .or(places.first())?;
        self.page = next.0;
        if let Some(i) = next.1 {
            self.focus = i;
        }
        Some(next.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::EXAMPLE;
    use crate::inventory::file::InventoryFile;

    fn example() -> Form {
        let mut f = Form::from_file(&InventoryFile::from_toml(EXAMPLE).unwrap());
        f.page = Page::Nodes;
        f
    }

    #[test]
    fn tab_goes_cell_by_cell_and_wraps_rows_and_arrows_go_by_row() {
        let mut f = example();
        let ids: Vec<FieldId> = (0..5)
            .map(|_| {
                let id = f.focused().unwrap();
                f.focus_next(1);
                id
            })
            .collect();
        let cols: Vec<(usize, Col)> = ids
            .iter()
            .map(|id| match id {
                FieldId::Node { row, col } => (*row, *col),
                _ => panic!("{id:?}"),
            })
            .collect();
        assert_eq!(
            cols,
            [
                (0, Col::Name),
                (0, Col::Address),
                (0, Col::User),
                (0, Col::Port),
                (1, Col::Name)
            ]
        );
        f.focus_next(-2); // Shift-Tab twice from (1, Address)
        assert_eq!(
            f.focused(),
            Some(FieldId::Node {
                row: 0,
                col: Col::Port
            })
        );
        f.focus_vertical(1);
        assert_eq!(
            f.focused(),
            Some(FieldId::Node {
                row: 1,
                col: Col::Port
            })
        );
        f.focus = f.focusables(Page::Nodes).len() - 1;
        assert!(
            !f.enter_next_cell(),
            "the last cell of the last row moves on"
        );
    }

    #[test]
    fn the_init_node_never_changes_silently() {
        let mut f = example();
        let first = f.init_name().unwrap();
        // Toggling the first control plane is refused while others exist.
        assert!(f.toggle_role().is_err());
        assert_eq!(f.init_name().as_deref(), Some(first.as_str()));
        // Another control plane toggled to worker and back joins at the end, never first.
        f.focus = Col::ALL.len(); // row 1
        f.toggle_role().unwrap();
        let moved = f.focused().unwrap();
        f.toggle_role().unwrap();
        assert_eq!(f.init_name().as_deref(), Some(first.as_str()), "{moved:?}");
        // Choosing explicitly moves it.
        f.focus = 2 * Col::ALL.len();
        let name = f.rows[2].name.text().to_string();
        f.make_first().unwrap();
        assert_eq!(f.init_name(), Some(name));
        // Removing the init node says who takes over.
        f.focus = 0;
        assert!(f.remove_row().unwrap().contains("now runs kubeadm init"));
    }

    #[test]
    fn ctrl_g_visits_every_error_across_pages() {
        let mut f = example();
        f.set(
            FieldId::Node {
                row: 1,
                col: Col::Address,
            },
            "not-an-ip",
        );
        f.set(FieldId::PodSubnet, "10.0.0.0/33");
        f.page = Page::Access;
        f.focus = 0;
        assert_eq!(f.jump_to_next_error(), Some(Page::Nodes));
        assert_eq!(
            f.focused(),
            Some(FieldId::Node {
                row: 1,
                col: Col::Address
            })
        );
        assert_eq!(f.jump_to_next_error(), Some(Page::Cluster));
        assert_eq!(f.focused(), Some(FieldId::PodSubnet));
        assert_eq!(f.jump_to_next_error(), Some(Page::Nodes), "wraps around");
    }
}
