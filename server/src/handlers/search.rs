//! `search`: full-text search over what the caller may read.
//!
//! Visibility is history's, checked twice: the query itself is limited to
//! the rooms the caller is a current member of (from the hub), and every
//! hit is read again from the store before it is returned: still a member,
//! the event published, not deleted, and its current text still matching
//! (so an index that lags behind an edit, a delete or a removal never
//! shows what history would not).

use super::Ctx;
use crate::error::{Result, ServerError};
use crate::search::SearchError;
use crate::search::index::{Checked, IndexQuery};
use crate::search::query;
use townhall_protocol::{MAX_SEARCH_RESULTS, SearchResult, SearchSort, ServerFrame, UserId};

/// Results per page when the client gives no `limit`.
const DEFAULT_LIMIT: u32 = 20;

/// How deep paging may go (offset into the ranked hits): each page costs
/// a ranking of offset + limit hits; nobody reads past a few pages.
const MAX_OFFSET: usize = 1_000;

pub async fn search(
    ctx: &Ctx,
    req_id: Option<String>,
    text: String,
    sort: Option<SearchSort>,
    before_cursor: Option<String>,
    limit: Option<u32>,
) -> Result<ServerFrame> {
    let search =
        ctx.app.search.clone().ok_or_else(|| {
            ServerError::Unavailable("search is not available on this server".into())
        })?;
    let parsed = query::parse(&text).map_err(|e| ServerError::BadQuery(e.to_string()))?;
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_SEARCH_RESULTS) as usize;
    let offset = match before_cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(|| ServerError::BadQuery("unknown `before_cursor`".into()))?,
    };
    let by_relevance = sort == Some(SearchSort::Relevance);
    let me = ctx.user.id;
    let hub = ctx.app.hub.clone();
    let visible = hub.published();
    let member_rooms = hub.rooms_of(me);
    let turn =
        ctx.app.search.clone().ok_or_else(|| {
            ServerError::Unavailable("search is not available on this server".into())
        })?;
    let _turn = turn.turn().await.ok_or(ServerError::ShuttingDown)?;
    let (results, more) = ctx
        .app
        .read(move |store| {
            // `in:#name`: the caller's rooms with that name.
            let rooms = if parsed.in_rooms.is_empty() {
                member_rooms
            } else {
                let mut kept = Vec::new();
                for room in member_rooms {
                    if let Some(r) = store.room(room)?
                        && parsed
                            .in_rooms
                            .iter()
                            .any(|n| n.eq_ignore_ascii_case(&r.name))
                    {
                        kept.push(room);
                    }
                }
                kept
            };
            // `from:@name`: an unknown name matches nobody.
            let authors: Option<Vec<UserId>> = if parsed.from.is_empty() {
                None
            } else {
                let mut ids = Vec::new();
                for name in &parsed.from {
                    if let Some(u) = store.user_by_name(name)? {
                        ids.push(u.id);
                    }
                }
                Some(ids)
            };
            if rooms.is_empty() || authors.as_ref().is_some_and(Vec::is_empty) {
                return Ok((Vec::new(), false));
            }
            let req = IndexQuery {
                parsed: &parsed,
                rooms: &rooms,
                authors: authors.as_deref(),
                mentions: parsed.mentions_me.then_some(me),
                by_relevance,
                offset,
                limit,
            };
            let mentions_me = parsed.mentions_me;
            let check = |room, seq| -> std::result::Result<Option<Checked>, SearchError> {
                if hub.role_in(room, me).is_none() {
                    return Ok(None);
                }
                // `mentions:me` as `summary` counts it: the message's
                // mention record now (an edit that removed the name, or
                // the caller's own `@room`, is not a mention of them).
                if mentions_me
                    && !store
                        .mention_record(room, seq)?
                        .is_some_and(|r| r.mentions(me))
                {
                    return Ok(None);
                }
                let Some(stored) = store.event(room, seq)?.filter(|e| e.pos <= visible) else {
                    return Ok(None);
                };
                let event = stored.decode()?;
                if event.state.deleted {
                    return Ok(None);
                }
                let Some(body) = crate::search::indexer::searchable_text(&event.content) else {
                    return Ok(None);
                };
                Ok(Some(Checked {
                    author: event.sender,
                    ts: event.ts,
                    body,
                }))
            };
            search.index().search(&req, check).map_err(|e| match e {
                SearchError::Store(s) => ServerError::Store(s),
                other => ServerError::Internal(other.to_string()),
            })
        })
        .await?;
    let results: Vec<SearchResult> = results
        .into_iter()
        .map(|h| SearchResult {
            room: h.room,
            seq: h.seq,
            author: h.author,
            ts: h.ts,
            snippet: h.snippet,
            highlights: h.highlights,
        })
        .collect();
    let next = offset + limit;
    let more = more && next <= MAX_OFFSET;
    // In whole seconds (rounded down): the lag follows writes anywhere on
    // the server, and to the millisecond it would tell a caller when
    // someone posted in a room they cannot read. The exact figure is the
    // operators' gauge `townhall_search_index_lag_seconds`.
    let index_lag_ms = ctx
        .app
        .search
        .as_ref()
        .map_or(0, |s| s.lag_ms(visible) / 1000 * 1000);
    Ok(ServerFrame::SearchResults {
        req_id,
        results,
        more,
        next_cursor: more.then(|| next.to_string()),
        index_lag_ms,
    })
}
