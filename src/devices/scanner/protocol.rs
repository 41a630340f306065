//! Framing a serial scanner's byte stream into codes, with no I/O and no clock of its own.
//!
//! A scanner in USB-CDC or RS-232 mode sends each code as a burst of bytes, ended by the
//! suffix it was programmed with (CR, LF, CR LF or TAB) or, when it sends none, by silence.
//! `Framer` cuts the stream into frames either way, strips the programmed prefix and the
//! suffix, and leaves everything else (an AIM identifier such as `]C1`, GS separators) for
//! `domain::codes::normalise`. Time is passed in, so idle-gap framing is tested without
//! sleeping; the driver calls `tick` when its read times out.
//!
//! A frame is only ever delivered whole: a partial frame is dropped on `reset` (the port
//! went away mid-code), when no terminator follows within the partial timeout, or when it
//! grows past the length limit. Dropping is reported, so a technician can see a scanner
//! that was never taught its suffix.

use std::time::{Duration, Instant};

/// The longest frame accepted. A QR code holds at most 7089 characters; a longer run
/// without a terminator is noise or a misconfigured scanner.
pub const MAX_FRAME: usize = 8192;

/// What ends a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// A CR or an LF ends the frame. A scanner set to CR, LF or CR LF all work: an empty
    /// frame between CR and LF is skipped, so CR LF never yields an empty code.
    Line,
    /// A TAB ends the frame (a scanner set up to jump between form fields).
    Tab,
    /// A pause of at least this long after the last byte ends the frame (a scanner that
    /// sends no suffix).
    IdleGap(Duration),
}

/// How a scanner's stream is framed: from its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramerConfig {
    pub framing: Framing,
    /// Bytes the scanner is programmed to send before each code; stripped when present.
    pub prefix: Vec<u8>,
    /// In `Line` and `Tab` framing, a partial frame with no new byte for this long is
    /// dropped as incomplete (a scanner sends a whole code in one burst).
    pub partial_timeout: Duration,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            framing: Framing::Line,
            prefix: Vec::new(),
            partial_timeout: Duration::from_millis(500),
        }
    }
}

/// Why bytes were dropped instead of delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No terminator arrived within the partial timeout.
    NoTerminator,
    /// The frame grew past `MAX_FRAME`.
    TooLong,
    /// The port went away in the middle of the frame.
    Disconnected,
}

impl DropReason {
    /// A sentence for the technician.
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::NoTerminator => {
                "no suffix followed the data: program the scanner's CR suffix (see `packbench device sheet`) or use idle-gap framing"
            }
            DropReason::TooLong => "more than 8192 bytes without a suffix",
            DropReason::Disconnected => "the scanner went away in the middle of a code",
        }
    }
}

/// What the framer found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameEvent {
    /// A complete code: `raw` is the text without prefix and suffix (AIM identifier kept),
    /// `frame` the exact bytes received, suffix included, for diagnostics.
    Code { raw: String, frame: Vec<u8> },
    /// Bytes that did not make a complete frame.
    Dropped { frame: Vec<u8>, reason: DropReason },
}

/// Cuts a byte stream into frames.
#[derive(Debug, Clone)]
pub struct Framer {
    config: FramerConfig,
    buf: Vec<u8>,
    /// Set while a frame that is too long is being skipped up to its terminator.
    overflowed: bool,
    last_byte: Option<Instant>,
}

impl Framer {
    pub fn new(config: FramerConfig) -> Framer {
        Framer {
            config,
            buf: Vec::new(),
            overflowed: false,
            last_byte: None,
        }
    }

    pub fn config(&self) -> &FramerConfig {
        &self.config
    }

    /// Takes bytes that arrived at `now` and returns the frames they complete.
    pub fn feed(&mut self, bytes: &[u8], now: Instant) -> Vec<FrameEvent> {
        // A gap before these bytes may already have ended the previous frame.
        let mut out = self.tick(now);
        if bytes.is_empty() {
            return out;
        }
        for &b in bytes {
            let ends = match self.config.framing {
                Framing::Line => b == b'\r' || b == b'\n',
                Framing::Tab => b == b'\t',
                Framing::IdleGap(_) => false,
            };
            if ends {
                if self.overflowed {
                    self.overflowed = false;
                    self.buf.clear();
                    continue;
                }
                if self.buf.is_empty() {
                    // The LF of a CR LF, or a stray terminator: nothing to deliver.
                    continue;
                }
                let mut frame = std::mem::take(&mut self.buf);
                frame.push(b);
                out.extend(self.code(frame));
                continue;
            }
            if self.overflowed {
                continue;
            }
            if self.buf.len() >= MAX_FRAME {
                out.push(FrameEvent::Dropped {
                    frame: std::mem::take(&mut self.buf),
                    reason: DropReason::TooLong,
                });
                // In idle-gap framing the rest of the burst is skipped until the gap.
                self.overflowed = true;
                continue;
            }
            self.buf.push(b);
        }
        self.last_byte = Some(now);
        out
    }

    /// Ends a frame that has been quiet long enough: delivers it in idle-gap framing, drops
    /// it otherwise. Call it when a read times out.
    pub fn tick(&mut self, now: Instant) -> Vec<FrameEvent> {
        let Some(last) = self.last_byte else {
            return Vec::new();
        };
        let limit = match self.config.framing {
            Framing::IdleGap(gap) => gap,
            Framing::Line | Framing::Tab => self.config.partial_timeout,
        };
        if now.saturating_duration_since(last) < limit {
            return Vec::new();
        }
        self.last_byte = None;
        let overflowed = std::mem::replace(&mut self.overflowed, false);
        if self.buf.is_empty() || overflowed {
            self.buf.clear();
            return Vec::new();
        }
        let frame = std::mem::take(&mut self.buf);
        match self.config.framing {
            Framing::IdleGap(_) => self.code(frame).into_iter().collect(),
            Framing::Line | Framing::Tab => vec![FrameEvent::Dropped {
                frame,
                reason: DropReason::NoTerminator,
            }],
        }
    }

    /// When `tick` next has something to do, if anything is pending.
    pub fn deadline(&self) -> Option<Instant> {
        let limit = match self.config.framing {
            Framing::IdleGap(gap) => gap,
            Framing::Line | Framing::Tab => self.config.partial_timeout,
        };
        self.last_byte.map(|t| t + limit)
    }

    /// Forgets a partial frame (the port went away); returns it as dropped, if any.
    pub fn reset(&mut self) -> Option<FrameEvent> {
        self.last_byte = None;
        self.overflowed = false;
        if self.buf.is_empty() {
            return None;
        }
        Some(FrameEvent::Dropped {
            frame: std::mem::take(&mut self.buf),
            reason: DropReason::Disconnected,
        })
    }

    /// Turns a complete frame into a code: the prefix and any trailing CR/LF/TAB go. A frame
    /// with nothing else in it (a stray TAB before a CR, a bare prefix) is no code.
    fn code(&self, frame: Vec<u8>) -> Option<FrameEvent> {
        let mut body: &[u8] = &frame;
        while let [rest @ .., b'\r' | b'\n' | b'\t'] = body {
            body = rest;
        }
        let prefix = self.config.prefix.as_slice();
        if !prefix.is_empty() {
            if let Some(rest) = body.strip_prefix(prefix) {
                body = rest;
            }
        }
        if body.is_empty() {
            return None;
        }
        Some(FrameEvent::Code {
            raw: String::from_utf8_lossy(body).into_owned(),
            frame,
        })
    }
}

/// Shows bytes as readable text for the device panel and logs: printable ASCII and other
/// UTF-8 as is, control bytes as `<CR>`, `<LF>`, `<TAB>`, `<GS>` or `<0xNN>`.
pub fn escape_frame(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("<CR>"),
            '\n' => out.push_str("<LF>"),
            '\t' => out.push_str("<TAB>"),
            '\u{1d}' => out.push_str("<GS>"),
            '\u{1e}' => out.push_str("<RS>"),
            '\u{04}' => out.push_str("<EOT>"),
            c if c.is_control() => out.push_str(&format!("<0x{:02X}>", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line() -> Framer {
        Framer::new(FramerConfig::default())
    }

    fn codes(events: &[FrameEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                FrameEvent::Code { raw, .. } => Some(raw.clone()),
                FrameEvent::Dropped { .. } => None,
            })
            .collect()
    }

    #[test]
    fn line_framing_accepts_cr_lf_and_crlf() {
        let t = Instant::now();
        for (input, expected) in [
            (&b"8801234567893\r"[..], vec!["8801234567893"]),
            (b"8801234567893\n", vec!["8801234567893"]),
            (b"8801234567893\r\n", vec!["8801234567893"]),
            (b"A\r\nB\r\n\r\nC\r", vec!["A", "B", "C"]),
            (b"\r\n\r\n", vec![]),
        ] {
            let mut f = line();
            assert_eq!(codes(&f.feed(input, t)), expected, "{input:?}");
        }
    }

    #[test]
    fn the_frame_keeps_the_suffix_for_diagnostics() {
        let mut f = line();
        let events = f.feed(b"X1\r\n", Instant::now());
        assert_eq!(
            events,
            vec![FrameEvent::Code {
                raw: "X1".into(),
                frame: b"X1\r".to_vec()
            }]
        );
    }

    #[test]
    fn split_chunks_give_the_same_codes() {
        let t = Instant::now();
        let mut f = line();
        let mut got = Vec::new();
        for chunk in [
            &b"]C1010950"[..],
            b"1101530003",
            b"17250101\x1d21X9",
            b"\r",
            b"\n88",
        ] {
            got.extend(codes(&f.feed(chunk, t)));
        }
        assert_eq!(got, vec!["]C1010950110153000317250101\u{1d}21X9"]);
        // "88" waits for its terminator.
        assert!(codes(&f.feed(b"0\r", t)).contains(&"880".to_string()));
    }

    #[test]
    fn the_aim_identifier_passes_through_and_the_prefix_is_stripped() {
        let t = Instant::now();
        let mut f = Framer::new(FramerConfig {
            prefix: b"\x02".to_vec(),
            ..FramerConfig::default()
        });
        assert_eq!(
            codes(&f.feed(b"\x02]E08801234567893\r", t)),
            vec!["]E08801234567893"]
        );
        // A frame without the prefix is still delivered.
        assert_eq!(codes(&f.feed(b"]Q1hello\r", t)), vec!["]Q1hello"]);
    }

    #[test]
    fn tab_framing() {
        let t = Instant::now();
        let mut f = Framer::new(FramerConfig {
            framing: Framing::Tab,
            ..FramerConfig::default()
        });
        assert_eq!(codes(&f.feed(b"A1\tB2\t", t)), vec!["A1", "B2"]);
    }

    #[test]
    fn idle_gap_framing_ends_a_code_on_silence() {
        let gap = Duration::from_millis(50);
        let t0 = Instant::now();
        let mut f = Framer::new(FramerConfig {
            framing: Framing::IdleGap(gap),
            ..FramerConfig::default()
        });
        assert!(f.feed(b"88012", t0).is_empty());
        assert!(f
            .feed(b"34567893", t0 + Duration::from_millis(10))
            .is_empty());
        assert_eq!(f.deadline(), Some(t0 + Duration::from_millis(60)));
        assert!(f.tick(t0 + Duration::from_millis(59)).is_empty());
        assert_eq!(
            codes(&f.tick(t0 + Duration::from_millis(60))),
            vec!["8801234567893"]
        );
        assert_eq!(f.deadline(), None);
        // A new burst after a gap is a new code, delivered when the next bytes arrive late.
        let t1 = t0 + Duration::from_millis(200);
        assert!(f.feed(b"A", t1).is_empty());
        assert_eq!(
            codes(&f.feed(b"B", t1 + Duration::from_millis(100))),
            vec!["A"]
        );
        // A trailing CR in idle-gap mode is trimmed.
        assert_eq!(
            codes(&f.feed(b"\r", t1 + Duration::from_millis(110))),
            Vec::<String>::new()
        );
        assert_eq!(codes(&f.tick(t1 + Duration::from_millis(200))), vec!["B"]);
    }

    #[test]
    fn a_partial_frame_is_dropped_not_delivered() {
        let t = Instant::now();
        let mut f = line();
        f.feed(b"88012345", t);
        let dropped = f.reset();
        assert_eq!(
            dropped,
            Some(FrameEvent::Dropped {
                frame: b"88012345".to_vec(),
                reason: DropReason::Disconnected
            })
        );
        assert_eq!(codes(&f.feed(b"67893\r", t)), vec!["67893"]);

        // No terminator within the partial timeout.
        f.feed(b"NOSUFFIX", t);
        let events = f.tick(t + Duration::from_secs(1));
        assert!(matches!(
            events.as_slice(),
            [FrameEvent::Dropped {
                reason: DropReason::NoTerminator,
                ..
            }]
        ));
        assert_eq!(
            codes(&f.feed(b"NEXT\r", t + Duration::from_secs(2))),
            vec!["NEXT"]
        );
    }

    #[test]
    fn an_overlong_frame_is_dropped_up_to_its_terminator() {
        let t = Instant::now();
        let mut f = line();
        let long = vec![b'7'; MAX_FRAME + 10];
        let events = f.feed(&long, t);
        assert!(matches!(
            events.as_slice(),
            [FrameEvent::Dropped {
                reason: DropReason::TooLong,
                ..
            }]
        ));
        // The tail of the long frame, up to its CR, is skipped; the next code is clean.
        assert_eq!(codes(&f.feed(b"777\rOK\r", t)), vec!["OK"]);
    }

    #[test]
    fn frames_are_escaped_for_people() {
        assert_eq!(escape_frame(b"]C101\x1d21\r\n"), "]C101<GS>21<CR><LF>");
        assert_eq!(escape_frame(b"\x02\xff"), "<0x02>\u{fffd}");
        assert_eq!(escape_frame("한글".as_bytes()), "한글");
    }

    proptest! {
        /// Feeding a stream in any chunks gives the codes of feeding it whole, and a code
        /// never contains a terminator.
        #[test]
        fn chunking_does_not_change_the_codes(
            data in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'A'), Just(b'1'), Just(0x1d), any::<u8>()],
                0..300),
            cuts in proptest::collection::vec(0usize..300, 0..10),
        ) {
            let t = Instant::now();
            let mut whole = line();
            let expected = codes(&whole.feed(&data, t));
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut pieces = line();
            let mut got = Vec::new();
            let mut from = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                got.extend(codes(&pieces.feed(&data[from..cut], t)));
                from = cut;
            }
            prop_assert_eq!(&got, &expected);
            for c in got {
                prop_assert!(!c.contains(['\r', '\n']));
                prop_assert!(!c.is_empty());
            }
        }
    }
}
