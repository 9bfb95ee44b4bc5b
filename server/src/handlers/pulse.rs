//! The Pulse view's numbers (`pulse`): questions asked and answered per
//! day, time to answer, the open queue's ages, activity by room, and the
//! most-voted open questions, for the transformation team, leaders and
//! admins.
//!
//! **Privacy rule.** Every number covers only the rooms the caller may
//! read right now: rooms they are a member of and public rooms. Direct
//! messages are never counted (their counters are not even kept). So no
//! count tells the caller anything about a room whose history they could
//! not open themselves; a leader in five rooms sees five rooms' pulse, not
//! the organisation's.
//!
//! **Cost.** One read of the room list, then per readable room one range
//! read of at most `days` counter rows (`store/pulse.rs`); then one scan of
//! the open questions (as the `questions` queue does), reading the stored
//! state of at most [`TOP_SCAN`] of them for their votes. Nothing scales
//! with the number of messages.

use super::Ctx;
use crate::committer::now_millis;
use crate::error::{Result, ServerError};
use crate::store::{ANSWER_BUCKETS, ANSWER_BUCKETS_MS, DAY_MS, DayCounts, Store, day_of};
use std::collections::HashMap;
use townhall_protocol::pulse::{
    DEFAULT_PULSE_DAYS, MAX_PULSE_BROADCASTS, MAX_PULSE_DAYS, MAX_PULSE_ROOMS,
    MAX_PULSE_TOP_QUESTIONS, OPEN_AGE_LABELS, PULSE_BROADCAST_SNIPPET_CHARS, PulseBroadcast,
    PulseQuestion, PulseReport, PulseRoom, PulseTime, day_label,
};
use townhall_protocol::{
    Content, Millis, Pos, Role, RoomId, RoomKind, RoomSeq, ServerFrame, Visibility,
};

/// Why a person who is neither team, leader nor admin is refused.
const NOT_ALLOWED: &str = "only the transformation team, leaders and admins see the pulse";

/// Open questions whose stored state is read for their votes (the oldest
/// first, as the `questions` queue): bounds one reply's reads whatever the
/// backlog; far more open questions than a team works through.
const TOP_SCAN: usize = 5_000;

/// Upper bounds (days) of the open queue's age buckets; the last bucket
/// is everything older (see `OPEN_AGE_LABELS`).
const OPEN_AGE_DAYS: [u64; 4] = [1, 3, 7, 28];

pub async fn pulse(ctx: &Ctx, req_id: Option<String>, days: Option<u32>) -> Result<ServerFrame> {
    let n = days.unwrap_or(DEFAULT_PULSE_DAYS);
    if !(1..=MAX_PULSE_DAYS).contains(&n) {
        return Err(ServerError::Invalid(format!(
            "days is 1 to {MAX_PULSE_DAYS}"
        )));
    }
    let app = ctx.app.clone();
    let me = ctx.user.id;
    let report = app
        .clone()
        .read(move |s| {
            // Decided from the account as stored now, not as at login.
            let allowed = s.user(me)?.is_some_and(|u| {
                !u.disabled
                    && (u.transformation_team || matches!(u.role, Role::Admin | Role::Leader))
            });
            if !allowed {
                return Err(ServerError::Forbidden(NOT_ALLOWED));
            }
            let now = now_millis();
            let readable: HashMap<RoomId, String> = s
                .rooms()?
                .into_iter()
                .filter(|r| {
                    r.kind == RoomKind::Room
                        && (r.visibility == Visibility::Public
                            || app.hub.role_in(r.id, me).is_some())
                })
                .map(|r| (r.id, r.name))
                .collect();
            report(s, &readable, n, now, app.hub.published())
        })
        .await?;
    Ok(ServerFrame::Pulse { req_id, report })
}

/// The numbers of the `n` days up to `now`'s (UTC) over the `readable`
/// rooms (id → name); open questions published after `visible` are not
/// shown. Pure reads: the benchmark calls it on a generated store.
pub fn report(
    s: &Store,
    readable: &HashMap<RoomId, String>,
    n: u32,
    now: Millis,
    visible: Pos,
) -> Result<PulseReport> {
    let last = day_of(now);
    let first = last.saturating_sub(n.max(1) - 1);
    let width = (last - first) as usize + 1;
    let mut total = DayCounts::default();
    let mut asked = vec![0; width];
    let mut answered = vec![0; width];
    let mut messages = vec![0; width];
    let mut per_room: Vec<(u64, PulseRoom)> = Vec::new();
    for (&room, name) in readable {
        let rows = s.pulse_days(room, first, last)?;
        if rows.is_empty() {
            continue;
        }
        let mut mine = vec![0; width];
        let mut sum = 0;
        for (day, c) in rows {
            let i = (day - first) as usize;
            asked[i] += c.asked;
            answered[i] += c.answered;
            messages[i] += c.messages;
            mine[i] += c.messages;
            sum += c.messages;
            total.answered += c.answered;
            total.answer_ms_sum = total.answer_ms_sum.saturating_add(c.answer_ms_sum);
            for (t, h) in total.answer_hist.iter_mut().zip(c.answer_hist) {
                *t += h;
            }
        }
        if sum > 0 {
            per_room.push((
                sum,
                PulseRoom {
                    room,
                    name: name.clone(),
                    messages: mine,
                },
            ));
        }
    }
    // Busiest first; ties by name then id, so the order is stable.
    per_room.sort_by(|(a, ra), (b, rb)| {
        b.cmp(a)
            .then_with(|| ra.name.cmp(&rb.name))
            .then_with(|| ra.room.cmp(&rb.room))
    });
    let mut other_rooms = vec![0; width];
    for (_, r) in per_room.iter().skip(MAX_PULSE_ROOMS) {
        for (o, m) in other_rooms.iter_mut().zip(&r.messages) {
            *o += m;
        }
    }
    let rooms: Vec<PulseRoom> = per_room
        .into_iter()
        .take(MAX_PULSE_ROOMS)
        .map(|(_, r)| r)
        .collect();

    // The open queue now: ages, and the most-voted.
    let mut open_age = vec![0u64; OPEN_AGE_LABELS.len()];
    let mut top: Vec<PulseQuestion> = Vec::new();
    let mut scanned = 0;
    for (room, seq, asked_at) in s.open_questions()? {
        let Some(room_name) = readable.get(&room) else {
            continue;
        };
        let age_days = now.saturating_sub(asked_at) / DAY_MS;
        let bucket = OPEN_AGE_DAYS
            .iter()
            .position(|&d| age_days < d)
            .unwrap_or(OPEN_AGE_DAYS.len());
        open_age[bucket] += 1;
        if scanned >= TOP_SCAN {
            continue;
        }
        scanned += 1;
        let Some(stored) = s.event(room, seq)? else {
            continue;
        };
        // Not yet published to readers: not shown either.
        if stored.pos > visible {
            continue;
        }
        let ev = stored.decode()?;
        if ev.state.votes == 0 {
            continue;
        }
        if let Content::Message { body, .. } = ev.content {
            top.push(PulseQuestion {
                room,
                room_name: room_name.clone(),
                seq,
                body,
                votes: ev.state.votes,
                asked_at,
            });
        }
    }
    top.sort_by(|a, b| {
        b.votes
            .cmp(&a.votes)
            .then_with(|| (a.asked_at, a.room, a.seq).cmp(&(b.asked_at, b.room, b.seq)))
    });
    top.truncate(MAX_PULSE_TOP_QUESTIONS);

    Ok(PulseReport {
        days: (first..=last).map(|d| day_label(i64::from(d))).collect(),
        asked,
        answered,
        messages,
        answer_buckets_ms: ANSWER_BUCKETS_MS.to_vec(),
        answer_histogram: total.answer_hist.to_vec(),
        answer_median: percentile(&total.answer_hist, 50),
        answer_p90: percentile(&total.answer_hist, 90),
        answer_mean_ms: (total.answered > 0).then(|| total.answer_ms_sum / total.answered),
        open_age,
        rooms,
        other_rooms,
        top_questions: top,
        rooms_counted: u32::try_from(readable.len()).unwrap_or(u32::MAX),
        broadcasts: broadcast_reach(s, readable, now.saturating_sub(u64::from(n) * DAY_MS))?,
    })
}

/// Broadcasts looked at per report (the newest): enough to find the
/// latest [`MAX_PULSE_BROADCASTS`] the caller may read among broadcasts to
/// rooms they are not in, and a bound on one reply's reads.
const BROADCAST_SCAN: usize = 200;

const HOUR_MS: u64 = 3_600_000;

/// Did a receipt at `t` (0: never) come at most `limit` ms after `sent`?
fn within_window(sent: Millis, t: Millis, limit: u64) -> bool {
    t != 0 && t.saturating_sub(sent) <= limit
}

/// Reach over time of the newest broadcasts sent since `since` only to
/// rooms in `readable` (so the caller could read the broadcast itself, and
/// its counts cover no room they cannot read), still there in one of them: of the audience as when sent, how many opened and
/// acknowledged within 1 h and 24 h of sending, from the stored receipt
/// times (`broadcast_user_reach`). Counts only, never who.
fn broadcast_reach(
    s: &Store,
    readable: &HashMap<RoomId, String>,
    since: Millis,
) -> Result<Vec<PulseBroadcast>> {
    let mut out = Vec::new();
    for r in s.recent_broadcasts(BROADCAST_SCAN)? {
        if r.created_at < since {
            break;
        }
        // Every room it went to must be readable: its counts cover them
        // all, and would otherwise tell of rooms the caller cannot read.
        if r.rooms.is_empty() || !r.rooms.iter().all(|(room, _)| readable.contains_key(room)) {
            continue;
        }
        // None left (deleted): not shown.
        let Some(text) = current_text(s, &r.rooms)? else {
            continue;
        };
        let snippet = text.chars().take(PULSE_BROADCAST_SNIPPET_CHARS).collect();
        let mut b = PulseBroadcast {
            id: r.id,
            sender: r.sender.clone(),
            sent_at: r.created_at,
            snippet,
            ack_requested: r.ack_requested,
            audience: r.counts.audience,
            opened_1h: 0,
            opened_24h: 0,
            acknowledged_1h: 0,
            acknowledged_24h: 0,
        };
        for (_, [_, opened, acked]) in s.reach_all(r.id)? {
            let within = |t: u64, limit: u64| within_window(r.created_at, t, limit);
            b.opened_1h += u64::from(within(opened, HOUR_MS));
            b.opened_24h += u64::from(within(opened, 24 * HOUR_MS));
            b.acknowledged_1h += u64::from(within(acked, HOUR_MS));
            b.acknowledged_24h += u64::from(within(acked, 24 * HOUR_MS));
        }
        out.push(b);
        if out.len() >= MAX_PULSE_BROADCASTS {
            break;
        }
    }
    Ok(out)
}

/// A broadcast's text as history shows it now (edits followed), from the
/// first of its copies (`rooms`: room and seq of each) still there and not
/// deleted; `None` when none is left (deleted). Also used by
/// `sent_broadcasts` (`handlers/sent.rs`).
pub(super) fn current_text(s: &Store, rooms: &[(RoomId, RoomSeq)]) -> Result<Option<String>> {
    for &(room, seq) in rooms {
        if let Some(stored) = s.event(room, seq)? {
            let ev = stored.decode()?;
            if let (false, Content::Broadcast { body, .. }) = (ev.state.deleted, ev.content) {
                return Ok(Some(body));
            }
        }
    }
    Ok(None)
}

/// The bucket holding the `pct`th percentile of a histogram: the first
/// bucket at which the running count reaches `ceil(total * pct / 100)`
/// (the nearest-rank definition). `None` when the histogram is empty.
fn percentile(hist: &[u64; ANSWER_BUCKETS], pct: u64) -> Option<PulseTime> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (total * pct).div_ceil(100).max(1);
    let mut seen = 0;
    for (i, &h) in hist.iter().enumerate() {
        seen += h;
        if seen >= rank {
            return Some(PulseTime {
                bucket: i as u32,
                at_most_ms: ANSWER_BUCKETS_MS.get(i).copied(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{HOUR_MS, percentile, within_window};
    use crate::store::{ANSWER_BUCKETS, ANSWER_BUCKETS_MS};

    #[test]
    fn a_receipt_counts_within_a_window_up_to_its_end_inclusive() {
        let sent = 1_000_000;
        assert!(within_window(sent, sent + HOUR_MS, HOUR_MS));
        assert!(!within_window(sent, sent + HOUR_MS + 1, HOUR_MS));
        assert!(within_window(sent, sent + HOUR_MS + 1, 24 * HOUR_MS));
        // Never opened.
        assert!(!within_window(sent, 0, 24 * HOUR_MS));
    }

    #[test]
    fn percentiles_are_nearest_rank_buckets() {
        let mut h = [0u64; ANSWER_BUCKETS];
        assert_eq!(percentile(&h, 50), None);
        // 9 answered within a minute, 1 after more than 8 weeks.
        h[0] = 9;
        h[ANSWER_BUCKETS - 1] = 1;
        let median = percentile(&h, 50).map(|t| (t.bucket, t.at_most_ms));
        assert_eq!(median, Some((0, Some(ANSWER_BUCKETS_MS[0]))));
        let p90 = percentile(&h, 90).map(|t| t.bucket);
        assert_eq!(p90, Some(0));
        h[0] = 8;
        h[ANSWER_BUCKETS - 1] = 2;
        let p90 = percentile(&h, 90).map(|t| (t.bucket, t.at_most_ms));
        assert_eq!(p90, Some((ANSWER_BUCKETS as u32 - 1, None)));
    }
}

/// Timing of `report` on a generated year of a 10,000-person organisation
/// (docs/benchmarks.md): `cargo test -p townhall-server --release --lib
/// handlers::pulse::bench -- --ignored --nocapture`.
#[cfg(test)]
mod bench {
    use super::report;
    use crate::store::{self, Batch, DAY_MS, DayCounts, Store, day_of};
    use std::collections::HashMap;
    use std::time::Instant;
    use townhall_protocol::{
        Content, Event, MessageState, Role, RoomId, ServerFrame, UserId, UserInfo,
    };

    /// Rooms of the organisation, and how many of them the viewer reads
    /// (the public ones plus the private ones they are in).
    const ROOMS: usize = 1_000;
    const READABLE: usize = 600;
    /// Open questions across the organisation, spread over the year.
    const OPEN: usize = 20_000;

    #[test]
    #[ignore]
    fn bench() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let s = Store::open_sled(dir.path(), 256 << 20)?;
        s.init()?;
        let now: u64 = 20_787 * DAY_MS + 12 * 3_600_000;
        let last = day_of(now);
        let rooms: Vec<RoomId> = (0..ROOMS)
            .map(|i| {
                RoomId(uuid::Uuid::from_u128(
                    0x0196_0000_0000_7000_8000_0000_0000_0000 + i as u128,
                ))
            })
            .collect();
        let started = Instant::now();
        // Every room active every day of the year: the worst case.
        let mut rows = 0;
        for (i, &room) in rooms.iter().enumerate() {
            let mut b = Batch::default();
            for d in 0..366u32 {
                let x = (i as u64 * 31 + u64::from(d) * 7) % 97;
                let mut c = DayCounts {
                    messages: 20 + x,
                    asked: x % 5,
                    ..DayCounts::default()
                };
                for k in 0..(x % 4) {
                    c.add_answer((x * 997 + k * 3_600_000) * 60);
                }
                store::put_pulse_day(&mut b, room, last - d, &c);
                rows += 1;
            }
            s.kv().apply(&b)?;
        }
        let asker = UserInfo {
            id: UserId(uuid::Uuid::from_u128(1)),
            username: "asker".into(),
            display_name: "Asker".into(),
            role: Role::Staff,
            transformation_team: false,
            avatar: None,
        };
        let mut b = Batch::default();
        for q in 0..OPEN {
            let room = rooms[q % ROOMS];
            let seq = 2 + q as u64;
            let asked_at = now - (q as u64 * 1_579_000) % (366 * DAY_MS);
            let ev = Event {
                pos: q as u64 + 1,
                room,
                seq,
                ts: asked_at,
                sender: asker.clone(),
                client_id: None,
                content: Content::Message {
                    body: format!("Question number {q}: what happens to our team next year?"),
                    thread: None,
                    question: true,
                    attachments: Vec::new(),
                },
                state: MessageState {
                    votes: (q as u64 * 7919) % 400,
                    ..MessageState::default()
                },
            };
            let json = serde_json::to_vec(&ServerFrame::Event(ev))?;
            store::put_event(&mut b, room, seq, q as u64 + 1, 1, &json);
            store::put_open_question(&mut b, room, seq, asked_at);
        }
        s.kv().apply(&b)?;
        s.kv().sync()?;
        println!(
            "generated {rows} counter rows and {OPEN} open questions in {:?}; {} MB on disk",
            started.elapsed(),
            s.kv().size_on_disk() / 1_000_000
        );
        let readable: HashMap<RoomId, String> = rooms
            .iter()
            .take(READABLE)
            .enumerate()
            .map(|(i, r)| (*r, format!("room-{i}")))
            .collect();
        // The parts: the open-question scan alone, then the counters alone.
        let t = Instant::now();
        let open = s.open_questions()?.len();
        println!("scan of {open} open questions: {:?}", t.elapsed());
        let t = Instant::now();
        let mut n = 0;
        for room in readable.keys() {
            n += s.pulse_days(*room, last - 365, last)?.len();
        }
        println!(
            "{n} counter rows of {READABLE} rooms read: {:?}",
            t.elapsed()
        );
        for days in [30, 366, 366] {
            let t = Instant::now();
            let r =
                report(&s, &readable, days, now, u64::MAX).map_err(|e| format!("report: {e}"))?;
            println!(
                "pulse over {days} days, {READABLE} readable rooms: {:?} ({} messages, {} asked, {} open)",
                t.elapsed(),
                r.messages.iter().sum::<u64>(),
                r.asked.iter().sum::<u64>(),
                r.open_age.iter().sum::<u64>()
            );
        }
        Ok(())
    }
}
