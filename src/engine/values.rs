//! The run values steps need and kha-tui cannot write into the plan: join secrets the cluster
//! must know, the discovery CA pin and the admin kubeconfig. Each is made once, when a step
//! first needs it; the plan says where they come from (`plan::ValueSources`), the steps say
//! what they need (placeholders in their files) and what they make (`Step::makes`).

use std::time::{Duration, Instant};

use super::StepOutcome;
use super::node_task::{NodeHandle, StepDone};
use super::secrets::{self, Redactor, RunValues};
use super::state_writer::StateWriter;
use crate::plan::{Placeholder, RENEWED_BY_REFRESH, Step, ValueSources};

/// Values in the cluster: generated here, valid once a step put them there, and made anew by
/// every refresh.
const IN_CLUSTER: [Placeholder; 2] = RENEWED_BY_REFRESH;

pub struct Values {
    pub values: RunValues,
    /// Every secret of this run so far, and the operator's passwords.
    pub redactor: Redactor,
    sources: Option<ValueSources>,
    /// When a step last put the join secrets into the cluster in this run.
    made_at: Option<Instant>,
    /// kubeadm deletes uploaded certificates after two hours; a control-plane join after this
    /// long needs them uploaded again.
    window: Duration,
    /// This run put join secrets into the cluster and no cleanup has taken them out since.
    secrets_out: bool,
}

impl Values {
    pub fn new(sources: Option<ValueSources>, window: Duration, passwords: &[&str]) -> Values {
        let values = RunValues::generate();
        let mut redactor = values.redactor();
        for p in passwords {
            redactor.add(p, "password");
        }
        Values {
            values,
            redactor,
            sources,
            made_at: None,
            window,
            secrets_out: false,
        }
    }

    /// The pair's VRRP password for this run, redacted from everything from now on.
    pub fn set_vrrp_password(&mut self, pw: String) {
        self.redactor.add_value(Placeholder::VrrpPassword, &pw);
        self.values.vrrp_password = Some(pw);
    }

    /// A step ran to `outcome`. One that makes join secrets may have put them into the
    /// cluster even when it failed later on (kubeadm init makes its token before the phases
    /// that can fail after it), so they count as out unless it never ran; they are fresh only
    /// when it succeeded. The plan's cleanup succeeding takes them out.
    pub fn ran(&mut self, step: &Step, outcome: &StepOutcome) {
        let makes = step.makes.iter().any(|p| IN_CLUSTER.contains(p));
        if makes && !matches!(outcome, StepOutcome::NotRun { .. }) {
            self.secrets_out = true;
        }
        if *outcome != StepOutcome::Succeeded {
            return;
        }
        if makes {
            self.made_at = Some(Instant::now());
        }
        if self
            .sources
            .as_ref()
            .is_some_and(|s| s.cleanup.key() == step.key())
        {
            self.secrets_out = false;
        }
    }

    /// At the end of a run that put join secrets into the cluster without reaching the
    /// plan's cleanup: runs the cleanup on the source node. `None` when nothing is left out.
    pub async fn take_out_secrets(&mut self, source: Option<&NodeHandle>) -> Option<StepDone> {
        if !self.secrets_out {
            return None;
        }
        let src = self.sources.clone()?;
        let Some(node) = source else {
            return Some(StepDone::not_run(format!("{} is not connected", src.node)));
        };
        let done = self.run_secrets_step(node, &src.cleanup).await;
        if done.outcome == StepOutcome::Succeeded {
            self.secrets_out = false;
        }
        Some(done)
    }

    /// Runs one of the plan's join-secret steps (refresh, cleanup) on the source node with this
    /// run's values, shown in the "secrets" phase.
    async fn run_secrets_step(&self, node: &NodeHandle, step: &Step) -> StepDone {
        node.run_extra_step(
            step.clone(),
            self.values.clone(),
            self.redactor.clone(),
            "secrets".into(),
        )
        .await
    }

    fn fresh(&self, p: Placeholder) -> bool {
        match self.made_at {
            None => false,
            Some(t) => p != Placeholder::CertificateKey || t.elapsed() < self.window,
        }
    }

    /// Makes sure every value `step` needs exists (and, for values in the cluster, is still
    /// valid there). `Err` says why a value could not be had.
    pub async fn ensure(
        &mut self,
        step: &Step,
        source: Option<&NodeHandle>,
        state: &StateWriter,
    ) -> Result<(), String> {
        let needs: Vec<Placeholder> = step
            .needs()
            .into_iter()
            .filter(|p| !step.makes.contains(p))
            .filter(|p| *p != Placeholder::VrrpPassword || self.values.vrrp_password.is_none())
            .collect();
        if needs.is_empty() {
            return Ok(());
        }
        let Some(src) = self.sources.clone() else {
            return Err(format!(
                "the plan says nowhere where {} comes from",
                needs[0].name()
            ));
        };
        let node = source.ok_or_else(|| format!("{} is not connected", src.node))?;
        if needs
            .iter()
            .any(|p| IN_CLUSTER.contains(p) && !self.fresh(*p))
        {
            self.refresh(&src, node, state).await?;
        }
        if needs.contains(&Placeholder::CaCertHash) && self.values.ca_cert_hash.is_none() {
            let pem = node.read_root_file(&src.ca_cert).await?;
            let hash = secrets::ca_cert_hash(&pem)
                .map_err(|e| format!("{}:{}: {e}", src.node, src.ca_cert))?;
            self.values.ca_cert_hash = Some(hash);
        }
        if needs.contains(&Placeholder::AdminKubeconfig) && self.values.admin_kubeconfig.is_none() {
            let text = node.read_root_file(&src.admin_kubeconfig).await?;
            self.redactor
                .add_value(Placeholder::AdminKubeconfig, text.trim());
            self.values.admin_kubeconfig = Some(text);
        }
        Ok(())
    }

    /// New join secrets (always a new token: kubeadm refuses to create an existing one), put
    /// into the cluster by the plan's refresh step.
    async fn refresh(
        &mut self,
        src: &ValueSources,
        node: &NodeHandle,
        state: &StateWriter,
    ) -> Result<(), String> {
        self.values.token = secrets::bootstrap_token();
        self.values.certificate_key = secrets::certificate_key();
        self.redactor.add_token(&self.values.token);
        self.redactor
            .add_value(Placeholder::CertificateKey, &self.values.certificate_key);
        let done = self.run_secrets_step(node, &src.refresh).await;
        self.ran(&src.refresh, &done.outcome);
        match done {
            StepDone {
                outcome: StepOutcome::Succeeded,
                ..
            } => {
                state.certs_uploaded();
                Ok(())
            }
            StepDone { outcome, .. } => Err(format!(
                "new join secrets could not be made on {}: {outcome}",
                src.node
            )),
        }
    }
}
