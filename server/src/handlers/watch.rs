//! Rumour watch (transformation team): the shared watch list
//! (`watch_add`, `watch_remove`, `watch_list`), my alerts
//! (`watch_alerts`) and the weekly counts (`watch_counts`).
//!
//! Changes to the list go through the log (`committer/watch.rs`), which
//! also matches each new room message. Reads here check the caller's team
//! flag as stored now, and list only alerts of rooms the caller may still
//! read (a team member who left a private room no longer sees its alerts).

use super::{Ctx, require_team};
use crate::committer::{Command, WatchOp, check_phrase, now_millis};
use crate::error::{Result, ServerError};
use std::collections::HashMap;
use townhall_protocol::watch::{
    MAX_WATCH_ALERTS_PAGE, MAX_WATCH_WEEKS, WatchCounts, iso_week, iso_week_label, iso_week_monday,
};
use townhall_protocol::{Pos, RoomId, ServerFrame};

/// Alerts per page when the client does not say.
/// Why someone off the transformation team is refused.
const NOT_TEAM: &str = "only the transformation team uses the rumour watch";

const DEFAULT_ALERTS_PAGE: u32 = 50;

/// Weeks counted when the client does not say: a quarter.
const DEFAULT_WEEKS: u32 = 12;

async fn list_frame(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    let mut list = ctx.app.read(|s| Ok(s.watch_list()?)).await?;
    list.sort_by(|a, b| (a.added_at, &a.key).cmp(&(b.added_at, &b.key)));
    Ok(ServerFrame::WatchList {
        req_id,
        phrases: list.iter().map(|r| r.shown()).collect(),
    })
}

pub async fn add(ctx: &Ctx, req_id: Option<String>, phrase: String) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    check_phrase(&phrase)?;
    let op = WatchOp::Add {
        actor: ctx.user.info(),
        phrase,
    };
    ctx.app.committer.submit(Command::Watch(op)).await?;
    list_frame(ctx, req_id).await
}

pub async fn remove(ctx: &Ctx, req_id: Option<String>, phrase: String) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    check_phrase(&phrase)?;
    let op = WatchOp::Remove {
        actor: ctx.user.info(),
        phrase,
    };
    ctx.app.committer.submit(Command::Watch(op)).await?;
    list_frame(ctx, req_id).await
}

pub async fn list(ctx: &Ctx, req_id: Option<String>) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    list_frame(ctx, req_id).await
}

pub async fn alerts(
    ctx: &Ctx,
    req_id: Option<String>,
    before: Option<Pos>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let limit = limit.unwrap_or(DEFAULT_ALERTS_PAGE);
    if !(1..=MAX_WATCH_ALERTS_PAGE).contains(&limit) {
        return Err(ServerError::Invalid(format!(
            "limit is 1 to {MAX_WATCH_ALERTS_PAGE}"
        )));
    }
    let user = ctx.user.id;
    // One more than asked, to tell whether older ones exist.
    let mut found = ctx
        .app
        .read(move |s| Ok(s.watch_alerts(user, before, limit as usize + 1)?))
        .await?;
    let has_more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let mut readable: HashMap<RoomId, bool> = HashMap::new();
    let mut alerts = Vec::with_capacity(found.len());
    for alert in found {
        let ok = match readable.get(&alert.room) {
            Some(ok) => *ok,
            None => {
                let ok = super::readable_room(ctx, alert.room).await.is_ok();
                readable.insert(alert.room, ok);
                ok
            }
        };
        if ok {
            alerts.push(alert);
        }
    }
    Ok(ServerFrame::WatchAlerts {
        req_id,
        alerts,
        has_more,
    })
}

pub async fn counts(ctx: &Ctx, req_id: Option<String>, weeks: Option<u32>) -> Result<ServerFrame> {
    require_team(ctx, NOT_TEAM).await?;
    let n = weeks.unwrap_or(DEFAULT_WEEKS);
    if !(1..=MAX_WATCH_WEEKS).contains(&n) {
        return Err(ServerError::Invalid(format!(
            "weeks is 1 to {MAX_WATCH_WEEKS}"
        )));
    }
    // The last `n` ISO weeks up to this one, oldest first.
    let (year, week) = iso_week(now_millis());
    let this_monday = iso_week_monday(year, week);
    let buckets: Vec<(i32, u32)> = (0..i64::from(n))
        .rev()
        .map(|back| iso_week(((this_monday - 7 * back).max(0) as u64) * 86_400_000))
        .collect();
    let labels = buckets.iter().map(|&(y, w)| iso_week_label(y, w)).collect();
    let phrases = ctx
        .app
        .read(move |s| {
            let mut list = s.watch_list()?;
            list.sort_by(|a, b| (a.added_at, &a.key).cmp(&(b.added_at, &b.key)));
            let mut out = Vec::with_capacity(list.len());
            for r in list {
                let mut counts = Vec::with_capacity(buckets.len());
                for &(y, w) in &buckets {
                    counts.push(s.watch_week_count(&r.key, y, w)?);
                }
                out.push(WatchCounts {
                    phrase: r.phrase,
                    counts,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(ServerFrame::WatchCounts {
        req_id,
        weeks: labels,
        phrases,
    })
}
