//! RFC 4733 telephone-event payloads (DTMF).

/// Event code of a DTMF key (RFC 4733 §3.2), or `None` for other characters.
pub(crate) fn event_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The DTMF key of an event code (0–15).
pub(crate) fn event_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

/// Volume field sent with our events: -10 dBm0, as common phones do.
const VOLUME: u8 = 10;

/// The 4-byte event payload (RFC 4733 §2.3).
pub(crate) fn payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [code, if end { 0x80 | VOLUME } else { VOLUME }, d[0], d[1]]
}

/// A parsed event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) code: u8,
    pub(crate) end: bool,
}

/// Parses an event payload; `None` if too short.
pub(crate) fn parse(data: &[u8]) -> Option<Event> {
    match data {
        [code, flags, _, _, ..] => Some(Event {
            code: *code,
            end: flags & 0x80 != 0,
        }),
        _ => None,
    }
}

/// Sender timing: 100 ms of tone (five 20 ms packets), then three end packets, then a 60 ms
/// pause before the next key (RFC 4733 §2.5.1.4: end retransmitted, gap between keys).
pub(crate) const TONE_TICKS: u32 = 5;
pub(crate) const GAP_TICKS: u32 = 3;
pub(crate) const END_REPEATS: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for d in "0123456789*#ABCD".chars() {
            assert_eq!(event_code(d).and_then(event_digit), Some(d));
        }
        assert_eq!(event_code('x'), None);
        assert_eq!(event_code('a'), Some(12));
    }

    #[test]
    fn payload_round_trip() {
        let p = payload(11, true, 800);
        assert_eq!(p, [11, 0x8A, 0x03, 0x20]);
        assert_eq!(parse(&p), Some(Event { code: 11, end: true }));
        assert_eq!(parse(&p[..3]), None);
    }
}
