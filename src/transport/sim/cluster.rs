//! The simulated Kubernetes control plane behind the simulated fleet: which nodes are
//! members, the bootstrap tokens and certificate key it accepts, and kubeadm's refusals in
//! kubeadm's words. Everything in it comes from what the engine sent (the plan's files and
//! environment), never from a canned topology.

use std::collections::{BTreeMap, BTreeSet};

use super::SIM_CA_CERT;

/// A member of the simulated cluster, as `kubectl get nodes` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub address: String,
    pub control_plane: bool,
}

#[derive(Debug, Default)]
pub struct SimCluster {
    /// `clusterName` of the init configuration.
    pub name: Option<String>,
    /// The Kubernetes minor the nodes' packages were installed for (from the plan's steps).
    pub minor: Option<String>,
    /// `controlPlaneEndpoint` of the init configuration (host:port), once initialised.
    pub endpoint: Option<String>,
    /// The node that ran `kubeadm init`.
    pub init_node: Option<String>,
    /// The bootstrap tokens in the cluster now (init and `kubeadm token create`, until
    /// `kubeadm token delete`), full `id.secret`.
    tokens: BTreeSet<String>,
    /// Every token ever created, in order.
    created: Vec<String>,
    /// The key the uploaded control-plane certificates are encrypted with (the last upload).
    certificate_key: Option<String>,
    /// In the order they joined.
    members: Vec<Member>,
    /// The load-balancer pair's VRRP state per LB (MASTER/BACKUP), once keepalived ran there.
    pub vrrp: BTreeMap<String, String>,
}

/// A value of a `key: value` line of a kubeadm YAML (the first one found), unquoted.
pub fn yaml_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(|l| l.trim().trim_start_matches("- "))
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().trim_matches('"'))
}

fn token_id(token: &str) -> &str {
    token.split('.').next().unwrap_or("")
}

impl SimCluster {
    pub fn is_member(&self, node: &str) -> bool {
        self.members.iter().any(|m| m.name == node)
    }

    pub fn members(&self) -> Vec<Member> {
        self.members.clone()
    }

    /// The newest token created (it may have been deleted since).
    pub fn latest_token(&self) -> Option<String> {
        self.created.last().cloned()
    }

    /// The ids of the tokens in the cluster now (`kubeadm token list`).
    pub fn token_ids(&self) -> Vec<String> {
        self.tokens
            .iter()
            .map(|t| token_id(t).to_string())
            .collect()
    }

    /// `kubeadm token delete` of every token (kha-tui's cleanup); deleting the token that owns
    /// the uploaded certificates deletes them too. Returns the ids deleted.
    pub fn delete_tokens(&mut self) -> Vec<String> {
        let ids = self.token_ids();
        self.tokens.clear();
        self.certificate_key = None;
        ids
    }

    pub fn certificate_key(&self) -> Option<String> {
        self.certificate_key.clone()
    }

    fn add_member(&mut self, name: &str, address: &str, control_plane: bool) {
        self.members.push(Member {
            name: name.into(),
            address: address.into(),
            control_plane,
        });
    }

    /// `kubeadm init --config CFG --upload-certs` on `node`.
    pub fn init(&mut self, node: &str, cfg: &str) -> Result<(), String> {
        if let Some(first) = &self.init_node {
            return Err(format!(
                "[preflight] Some fatal errors occurred: the cluster was already initialised on {first}"
            ));
        }
        let token = yaml_value(cfg, "token:").unwrap_or("").to_string();
        check_token_form(&token)?;
        self.created.push(token.clone());
        self.tokens.insert(token);
        self.certificate_key = yaml_value(cfg, "certificateKey:").map(str::to_string);
        self.endpoint = yaml_value(cfg, "controlPlaneEndpoint:").map(str::to_string);
        self.name = yaml_value(cfg, "clusterName:").map(str::to_string);
        self.init_node = Some(node.into());
        let address = yaml_value(cfg, "advertiseAddress:").unwrap_or("");
        let name = yaml_value(cfg, "name:").unwrap_or(node).to_string();
        self.add_member(&name, address, true);
        Ok(())
    }

    /// `kubeadm token create --config CFG` then `kubeadm init phase upload-certs`.
    pub fn refresh(&mut self, cfg: &str) -> Result<(), String> {
        if self.init_node.is_none() {
            return Err(
                "this node has not been initialised (no /etc/kubernetes/admin.conf)".into(),
            );
        }
        let token = yaml_value(cfg, "token:").unwrap_or("").to_string();
        check_token_form(&token)?;
        if self.tokens.iter().any(|t| token_id(t) == token_id(&token)) {
            let name = format!("bootstrap-token-{}", token_id(&token));
            return Err(format!(
                "failed to create or update bootstrap token with name {name}: secrets \"{name}\" already exists"
            ));
        }
        self.created.push(token.clone());
        self.tokens.insert(token);
        self.certificate_key = yaml_value(cfg, "certificateKey:").map(str::to_string);
        Ok(())
    }

    /// `kubeadm join --config CFG` on `node`: the checks kubeadm makes (token,
    /// CA pin, certificate key for control planes), in its words.
    pub fn join(&mut self, node: &str, cfg: &str) -> Result<(), String> {
        let token = yaml_value(cfg, "token:").unwrap_or("");
        if self.init_node.is_none() || !self.tokens.contains(token) {
            return Err(format!(
                "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID \"{}\"",
                token_id(token)
            ));
        }
        let hash = yaml_value(cfg, "- \"sha256:")
            .or_else(|| {
                cfg.lines()
                    .map(str::trim)
                    .find_map(|l| l.strip_prefix("- \"sha256:"))
            })
            .map(|h| h.trim_end_matches('"'))
            .unwrap_or("");
        let want = crate::engine::secrets::ca_cert_hash(SIM_CA_CERT).expect("sim CA parses");
        if format!("sha256:{hash}") != want {
            return Err(format!(
                "error execution phase preflight: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys \"{want}\" are pinned"
            ));
        }
        let control_plane = cfg.contains("controlPlane:");
        if control_plane {
            let key = yaml_value(cfg, "certificateKey:").unwrap_or("");
            if self.certificate_key.as_deref() != Some(key) {
                return Err("error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding certificate key: failed to decrypt data: cipher: message authentication failed".into());
            }
        }
        let name = yaml_value(cfg, "name:").unwrap_or(node).to_string();
        if self.is_member(&name) {
            return Err(format!(
                "error execution phase kubelet-start: a Node with name \"{name}\" and status \"Ready\" already exists in the cluster. You must delete the existing Node or change the name of this new joining Node"
            ));
        }
        let address = cfg
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "- name: node-ip")
            .nth(1)
            .and_then(|l| l.strip_prefix("value:"))
            .map(|v| v.trim().trim_matches('"'))
            .unwrap_or("");
        self.add_member(&name, address, control_plane);
        Ok(())
    }
}

/// kubeadm's format check of a bootstrap token, with its message.
fn check_token_form(token: &str) -> Result<(), String> {
    let ok = token.len() == 23
        && token.as_bytes()[6] == b'.'
        && token
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 6 || b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the bootstrap token \"{token}\" was not of the form \"\\\\A([a-z0-9]{{6}})\\\\.([a-z0-9]{{16}})\\\\z\""
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: &str = "bootstrapTokens:\n  - token: \"abcdef.0123456789abcdef\"\ncertificateKey: \"k1\"\nlocalAPIEndpoint:\n  advertiseAddress: \"192.0.2.11\"\nnodeRegistration:\n  name: \"cp-a\"\ncontrolPlaneEndpoint: \"api.lab.test:7443\"\n";

    #[test]
    fn token_create_with_an_existing_id_is_refused_as_kubeadm_does() {
        let mut c = SimCluster::default();
        c.init("cp-a", INIT).unwrap();
        let again =
            "bootstrapTokens:\n  - token: \"abcdef.ffffffffffffffff\"\ncertificateKey: \"k2\"\n";
        let e = c.refresh(again).unwrap_err();
        assert_eq!(
            e,
            "failed to create or update bootstrap token with name bootstrap-token-abcdef: secrets \"bootstrap-token-abcdef\" already exists"
        );
        assert_eq!(c.certificate_key().as_deref(), Some("k1"));
        c.refresh("  - token: \"zzzzzz.ffffffffffffffff\"\ncertificateKey: \"k2\"\n")
            .unwrap();
        assert_eq!(c.certificate_key().as_deref(), Some("k2"));
    }

    #[test]
    fn init_records_the_endpoint_and_the_first_member() {
        let mut c = SimCluster::default();
        c.init("cp-a", INIT).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("api.lab.test:7443"));
        assert_eq!(
            c.members(),
            vec![Member {
                name: "cp-a".into(),
                address: "192.0.2.11".into(),
                control_plane: true
            }]
        );
        assert!(c.init("cp-b", INIT).is_err());
        assert!(c.refresh("token: \"short\"").is_err());
    }
}
