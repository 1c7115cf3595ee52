//! What can have the focus on the inventory form pages: the pages, the node table's columns and
//! the fields, with the inventory key each one edits, its label and its help line.

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Page {
    Access,
    Nodes,
    Cluster,
}

impl Page {
    pub const ALL: [Page; 3] = [Page::Access, Page::Nodes, Page::Cluster];

    pub fn title(self) -> &'static str {
        match self {
            Page::Access => "Load balancer and SSH",
            Page::Nodes => "Control planes and workers",
            Page::Cluster => "Kubernetes and networks",
        }
    }

    pub fn number(self) -> usize {
        self as usize + 1
    }

    /// Which page an inventory key is edited on.
    pub fn of_key(key: &str) -> Page {
        if key.starts_with("load_balancer") || key.starts_with("ssh") {
            Page::Access
        } else if key.starts_with("nodes") {
            Page::Nodes
        } else {
            Page::Cluster
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Name,
    Address,
    User,
    Port,
}

impl Col {
    pub const ALL: [Col; 4] = [Col::Name, Col::Address, Col::User, Col::Port];
    pub fn key(self) -> &'static str {
        match self {
            Col::Name => "name",
            Col::Address => "address",
            Col::User => "user",
            Col::Port => "port",
        }
    }
}

/// Something that can have the focus on a form page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldId {
    LbName,
    LbAddress,
    LbEndpoint,
    LbPort,
    /// The pair's virtual address (empty = one LB).
    LbVip,
    LbRouterId,
    BackupName,
    BackupAddress,
    SshUser,
    SshPort,
    /// Choice: key file or ssh-agent.
    Auth,
    IdentityFile,
    /// A cell of the node tables; `row` counts control planes first, then workers (= `nodes[row]`).
    Node {
        row: usize,
        col: Col,
    },
    ClusterName,
    /// Choice from the versions table.
    Kubernetes,
    /// Choice from the versions table (for the chosen minor).
    Calico,
    PodSubnet,
    ServiceSubnet,
    /// Choice: auto, distro, docker.
    Containerd,
    PackageMirror,
    /// The fingerprint pinned for the package mirror's signing key.
    PackageMirrorKey,
    ContainerdMirror,
    ContainerdMirrorKey,
    ManifestMirror,
}

impl FieldId {
    /// The inventory key whose issues this field shows.
    pub fn key(self) -> String {
        match self {
            FieldId::LbName => "load_balancer.name".into(),
            FieldId::LbAddress => "load_balancer.address".into(),
            FieldId::LbEndpoint => "load_balancer.endpoint".into(),
            FieldId::LbPort => "load_balancer.port".into(),
            FieldId::LbVip => "load_balancer.vip".into(),
            FieldId::LbRouterId => "load_balancer.virtual_router_id".into(),
            FieldId::BackupName => "load_balancer.backup_name".into(),
            FieldId::BackupAddress => "load_balancer.backup_address".into(),
            FieldId::SshUser => "ssh.user".into(),
            FieldId::SshPort => "ssh.port".into(),
            FieldId::Auth => "ssh.use_agent".into(),
            FieldId::IdentityFile => "ssh.identity_file".into(),
            FieldId::Node { row, col } => format!("nodes[{row}].{}", col.key()),
            FieldId::ClusterName => "cluster.name".into(),
            FieldId::Kubernetes => "cluster.kubernetes_version".into(),
            FieldId::Calico => "cluster.calico_version".into(),
            FieldId::PodSubnet => "cluster.pod_subnet".into(),
            FieldId::ServiceSubnet => "cluster.service_subnet".into(),
            FieldId::Containerd => "cluster.containerd_source".into(),
            FieldId::PackageMirror => "cluster.package_mirror".into(),
            FieldId::PackageMirrorKey => "cluster.package_mirror_key".into(),
            FieldId::ContainerdMirror => "cluster.containerd_mirror".into(),
            FieldId::ContainerdMirrorKey => "cluster.containerd_mirror_key".into(),
            FieldId::ManifestMirror => "cluster.manifest_mirror".into(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldId::LbName => "Name",
            FieldId::LbAddress => "Address",
            FieldId::LbEndpoint => "Endpoint",
            FieldId::LbPort => "API port",
            FieldId::LbVip => "Virtual IP",
            FieldId::LbRouterId => "VRRP id",
            FieldId::BackupName => "Backup name",
            FieldId::BackupAddress => "Backup addr",
            FieldId::SshUser => "User",
            FieldId::SshPort => "Port",
            FieldId::Auth => "Log in with",
            FieldId::IdentityFile => "Key file",
            FieldId::Node { col, .. } => match col {
                Col::Name => "Name",
                Col::Address => "Address",
                Col::User => "User",
                Col::Port => "Port",
            },
            FieldId::ClusterName => "Cluster name",
            FieldId::Kubernetes => "Kubernetes",
            FieldId::Calico => "Calico",
            FieldId::PodSubnet => "Pod subnet",
            FieldId::ServiceSubnet => "Service subnet",
            FieldId::Containerd => "containerd from",
            FieldId::PackageMirror => "Package mirror",
            FieldId::ContainerdMirror => "Docker mirror",
            FieldId::PackageMirrorKey | FieldId::ContainerdMirrorKey => "  its key",
            FieldId::ManifestMirror => "Manifest mirror",
        }
    }

    /// A short help text shown when the field has the focus.
    pub fn help(self) -> &'static str {
        match self {
            FieldId::LbName => "how plans and logs call the load-balancer node",
            FieldId::LbAddress => "SSH target of the LB node (usually this machine)",
            FieldId::LbEndpoint => "DNS name for the API endpoint; empty = the address",
            FieldId::LbPort => "the port HAProxy listens on for the API, usually 6443",
            FieldId::LbVip => {
                "optional: a free address of the LBs' subnet keepalived moves between the pair; it becomes the endpoint"
            }
            FieldId::LbRouterId => {
                "optional: VRRP virtual_router_id 1-255, unique on the network; empty = derived from the cluster name"
            }
            FieldId::BackupName => "the second load balancer's name; empty = lb2",
            FieldId::BackupAddress => {
                "SSH target of the second load balancer (HAProxy + keepalived); empty = one LB"
            }
            FieldId::SshUser => "login user on every node (root, or a user with sudo)",
            FieldId::SshPort => "SSH port of every node unless a node overrides it",
            FieldId::Auth => "Space or ←/→: a private key file or the keys of your ssh-agent",
            FieldId::IdentityFile => {
                "private key used for every node; passwords are asked, never stored"
            }
            FieldId::Node { col, .. } => match col {
                Col::Name => "RFC 1123 name, e.g. master1",
                Col::Address => "IPv4 or IPv6 address the LB reaches the node at",
                Col::User => "optional: overrides the SSH user for this node",
                Col::Port => "optional: overrides the SSH port for this node",
            },
            FieldId::ClusterName => "RFC 1123 label",
            FieldId::Kubernetes => {
                "←/→: the minors of the versions table; the patch is resolved on the nodes"
            }
            FieldId::Calico => "←/→: the Calico releases known to work with this minor",
            FieldId::PodSubnet => "one /24 per node is taken from it; must not contain any node",
            FieldId::ServiceSubnet => "at most a /12; must not overlap the pod subnet",
            FieldId::Containerd => {
                "←/→: auto takes Docker's containerd.io where the distro's is too old"
            }
            FieldId::PackageMirror => {
                "optional: replaces https://pkgs.k8s.io (same layout); empty = pkgs.k8s.io"
            }
            FieldId::PackageMirrorKey => {
                "fingerprint of the package mirror's Release.key (gpg --show-keys); required for http://"
            }
            FieldId::ContainerdMirror => {
                "optional: replaces https://download.docker.com/linux (same layout)"
            }
            FieldId::ContainerdMirrorKey => {
                "fingerprint of the Docker mirror's gpg key (gpg --show-keys); required for http://"
            }
            FieldId::ManifestMirror => {
                "optional: replaces https://raw.githubusercontent.com/projectcalico/calico"
            }
        }
    }

    pub fn is_choice(self) -> bool {
        matches!(
            self,
            FieldId::Auth | FieldId::Kubernetes | FieldId::Calico | FieldId::Containerd
        )
    }
}
