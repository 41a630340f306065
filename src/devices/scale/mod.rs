//! Scales at the bench: serial scales (CAS, Mettler Toledo MT-SICS, Toledo 8217, A&D, Adam,
//! Ohaus, NCI/SMA, a configurable ASCII line) and USB HID POS scales, each described by a
//! profile in `firmware-config/scales/`.
//!
//! The layers follow the devices convention: one pure, incremental frame parser per
//! protocol family (`cas`, `mtsics`, `toledo`, `and`, `sma`, `ascii`, `hid`) that turns any
//! chunks of bytes into `Frame`s; `ScaleParser`, which picks the parser a profile names and
//! applies its stability rule; `driver`, which owns a port on its own thread, polls in
//! request mode, and reports readings and online/offline changes, reconnecting when a
//! device comes back; and `sim`, a simulated scale per protocol on a pseudo-terminal.
//!
//! The one rule every parser keeps: a reading is `stable` only when a complete, well-formed
//! frame said so. Garbage, a cut frame, a motion flag, an overload or an unknown unit never
//! yields a stable weight; a parser that loses its place drops bytes until the next frame
//! start, and its buffer never grows past a few hundred bytes.

pub mod cli;
pub mod driver;
pub mod profile;
pub mod sim;
pub mod units;

mod and;
mod ascii;
mod cas;
mod frames;
mod hid;
mod mtsics;
mod sma;
mod toledo;

#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::domain::Grams;

pub use driver::{parse_spec, DeviceStatus, ScaleDriver, ScaleEvent, ScaleSpec, SpecError};
pub use profile::{load_profiles, Protocol, ScaleProfile};
pub use sim::ScaleSim;
pub use units::Unit;

/// Which weight a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightKind {
    Gross,
    Net,
    Tare,
    /// The frame does not say (MT-SICS, Adam, an ASCII line without a marker).
    Unspecified,
}

/// What the scale says about its own condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleState {
    /// Weighing normally (the weight may still be in motion: see `Reading::stable`).
    Ok,
    /// Over capacity.
    Overload,
    /// Under zero beyond what the scale shows as a negative weight (or, on a HID scale,
    /// any weight below zero).
    Underload,
    /// Busy, not ready yet, or in motion with no weight to give; ask again.
    NotReady,
    /// An error reply or a fault the scale reports (command refused, calibration needed, a
    /// unit the profile does not accept).
    Fault,
}

/// One weight reading from a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reading {
    /// The weight in whole grams: the frame's value in its unit, converted exactly and
    /// rounded once to the nearest gram, halves away from zero (see `units`). Negative
    /// below zero. When `state` is `Overload` or `Underload` it is whatever value the frame
    /// carried, often meaningless.
    pub grams: Grams,
    /// The scale marked the weight stable, the frame was well-formed, `state` is `Ok`, and
    /// the profile's confirmation count (if any) was met. Only stable readings may decide a
    /// verdict.
    pub stable: bool,
    pub kind: WeightKind,
    pub state: ScaleState,
    /// The scale says it is at its centre of zero (when its protocol tells).
    pub at_zero: bool,
    /// The unit the scale sent the weight in.
    pub unit: Unit,
    /// The frame as received (terminators excepted), control and non-ASCII bytes written
    /// as `\xNN`: kept for audit.
    pub raw: String,
}

impl Reading {
    /// The weight when it may be used for a verdict: stable and in a normal state.
    pub fn stable_grams(&self) -> Option<Grams> {
        (self.stable && self.state == ScaleState::Ok).then_some(self.grams)
    }
}

/// What a parser found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Frame {
    /// A frame with a weight in it.
    Reading(Reading),
    /// A well-formed reply with no weight: busy, in motion with no value, overload with no
    /// value, an error code, or information text (model, serial number).
    Status {
        state: ScaleState,
        message: String,
        raw: String,
    },
    /// A complete line that is not a frame of this protocol (a wrong profile, a wrong baud
    /// rate, or noise). Shown to a technician; never a weight.
    Unparsed { raw: String },
}

impl Frame {
    /// The raw text of the frame.
    pub fn raw(&self) -> &str {
        match self {
            Frame::Reading(r) => &r.raw,
            Frame::Status { raw, .. } | Frame::Unparsed { raw } => raw,
        }
    }
}

/// An incremental frame parser: bytes in, frames out, no I/O and no clock.
pub(crate) trait FrameParser: Send {
    /// Feeds bytes as they arrived, in any chunks; complete frames are appended to `out`.
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>);
    /// Forgets any partial frame. `at_frame_start` says the next byte begins a frame (the
    /// driver just cleared the input and sent a request); otherwise a parser for a protocol
    /// with no start byte drops everything up to the first frame end, so it never reads
    /// the tail of a frame as a whole one.
    fn reset(&mut self, at_frame_start: bool);
}

/// The parser a profile asks for, with the profile's stability confirmation applied.
pub struct ScaleParser {
    inner: Box<dyn FrameParser>,
    confirm: u32,
    streak: Option<(Grams, u32)>,
}

impl ScaleParser {
    /// A parser for `profile`, starting out of sync (as if opened mid-stream).
    pub fn new(profile: &ScaleProfile) -> ScaleParser {
        let inner: Box<dyn FrameParser> = match profile.protocol {
            Protocol::CasCi => Box::new(cas::CiParser::new(profile)),
            Protocol::CasPd2 => Box::new(cas::Pd2Parser::new(profile)),
            Protocol::MtSics => Box::new(mtsics::Parser::new(profile)),
            Protocol::Toledo8217 => Box::new(toledo::Parser::new(profile)),
            Protocol::And => Box::new(and::Parser::new(profile)),
            Protocol::Sma => Box::new(sma::Parser::new(profile)),
            Protocol::Ascii => Box::new(ascii::Parser::new(profile)),
            Protocol::HidPos => Box::new(hid::Parser::new(profile)),
        };
        ScaleParser {
            inner,
            confirm: profile.stability.confirm.max(1),
            streak: None,
        }
    }

    /// Feeds bytes; returns the frames they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut out = Vec::new();
        self.inner.feed(bytes, &mut out);
        for frame in &mut out {
            match frame {
                Frame::Reading(r) => self.confirm_stability(r),
                // A reply without a weight (busy, in motion) breaks a run of stable ones.
                Frame::Status { .. } => self.streak = None,
                Frame::Unparsed { .. } => {}
            }
        }
        out
    }

    /// Forgets any partial frame and the stability streak (see `FrameParser::reset`).
    pub fn reset(&mut self, at_frame_start: bool) {
        self.inner.reset(at_frame_start);
        self.streak = None;
    }

    /// With `confirm = N` in the profile, a reading stays unstable until N stable readings
    /// of the same weight arrived in a row.
    fn confirm_stability(&mut self, r: &mut Reading) {
        if r.state != ScaleState::Ok {
            r.stable = false;
        }
        if !r.stable {
            self.streak = None;
            return;
        }
        let count = match self.streak {
            Some((g, n)) if g == r.grams => n.saturating_add(1),
            _ => 1,
        };
        self.streak = Some((r.grams, count));
        r.stable = count >= self.confirm;
    }
}
