//! The drill screen's state (reached from Done with `d`): what the drill asks to stop, the
//! requests counted per second, the scenario steps as they happen, and the final tables.

use crate::drill::DrillEvent;
use crate::drill::record::Second;
use crate::drill::report::{Report, ScenarioResult};

#[derive(Debug, Clone, Default, PartialEq)]
pub enum DrillPhase {
    #[default]
    Idle,
    /// Connecting, reading the CA, finding the VIP holder: nothing stopped yet.
    Preparing,
    /// The operator is asked (default No) with the list of what will stop.
    Confirm {
        what: Vec<String>,
    },
    Running,
    Finished,
    /// The drill could not start, or the operator said no.
    NotRun {
        why: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrillScreen {
    pub phase: DrillPhase,
    pub seconds: Vec<Second>,
    /// (scenario id, "+1234 ms  text")
    pub steps: Vec<(String, String)>,
    pub scenarios: Vec<ScenarioResult>,
    pub report: Option<Report>,
    /// Where the report was saved.
    pub saved: Option<String>,
}

/// What the runtime's drill task tells the model.
#[derive(Debug, Clone, PartialEq)]
pub enum DrillMsg {
    /// Prepared: ask the operator about these.
    Ready {
        what: Vec<String>,
    },
    /// Preparing failed; nothing was stopped.
    Failed(String),
    Event(DrillEvent),
    Saved(Option<String>),
}

impl DrillScreen {
    pub fn running(&self) -> bool {
        matches!(self.phase, DrillPhase::Preparing | DrillPhase::Running)
    }
}
