//! The tantivy index: its schema and analyzer, opening (or rebuilding) the
//! folder, writing one message's document, and running a parsed query.
//!
//! One document per searchable message (top-level, thread reply, broadcast
//! copy, question), keyed by `room/seq`. Only ids, time and flags are
//! stored; the text is indexed, not stored: snippets are cut from the
//! message as the store holds it at query time, so an edit or delete that
//! the index has not caught up with can never show old text.

use super::SearchError;
use super::query::ParsedQuery;
use std::path::{Path, PathBuf};
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use townhall_protocol::{Millis, Pos, RoomId, RoomSeq, UserId};

/// Bumped whenever the schema, the analyzer or what a document holds
/// changes: a folder with another version is rebuilt from the store.
///
/// 2: the `pos` field (newest first by position: `ts` ties within a
/// millisecond, and tantivy leaves ties in document order).
pub const INDEX_VERSION: &str = "townhall-search-2";

/// The file holding [`INDEX_VERSION`] inside the index folder.
const VERSION_FILE: &str = "TOWNHALL_VERSION";

/// The analyzer's name in tantivy's tokenizer registry.
const ANALYZER: &str = "townhall";

/// Tokens longer than this are dropped: base64 blobs and long URLs would
/// bloat the term dictionary and nobody types them.
const MAX_TOKEN_BYTES: usize = 40;

/// The writer's heap (tantivy's minimum is 15 MB per thread): one indexing
/// thread, since the server shares its cores with the committer and
/// sessions, and a live feed of chat messages never needs more.
const WRITER_HEAP_BYTES: usize = 32 * 1024 * 1024;

/// Characters of a snippet around the matches.
const SNIPPET_CHARS: usize = 160;

/// The schema's fields.
#[derive(Clone, Copy)]
pub struct Fields {
    /// `room/seq`: the delete key of a document.
    key: Field,
    room: Field,
    seq: Field,
    author: Field,
    ts: Field,
    /// The message's position in the log: the order of "newest first"
    /// (strictly increasing, where `ts` ties within a millisecond).
    pos: Field,
    body: Field,
    /// `link`, `file`, `question`, `unanswered`, `thread`, `broadcast`.
    flags: Field,
    /// Ids of the users a message mentions, and `@room`.
    mentions: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        room: b.add_text_field("room", STRING | STORED),
        seq: b.add_u64_field("seq", STORED),
        author: b.add_text_field("author", STRING),
        ts: b.add_u64_field("ts", INDEXED | FAST | STORED),
        pos: b.add_u64_field("pos", FAST),
        body: b.add_text_field("body", text),
        flags: b.add_text_field("flags", STRING),
        mentions: b.add_text_field("mentions", STRING),
    };
    (b.build(), fields)
}

/// Unicode words (tantivy's `SimpleTokenizer` splits on anything not
/// alphanumeric in Unicode's sense), lowercased, folded to ASCII where a
/// folding exists (`café` → `cafe`), English-stemmed (`running` → `run`).
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

/// What one document says about a message.
pub struct MessageDoc<'a> {
    pub room: RoomId,
    pub seq: RoomSeq,
    pub author: UserId,
    pub ts: Millis,
    /// The message's own position (not an edit's).
    pub pos: Pos,
    pub body: &'a str,
    pub flags: Vec<&'static str>,
    pub mentions: Vec<String>,
}

/// An open index and its reader.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    dir: PathBuf,
}

/// The payload of each tantivy commit: every event at or below `pos` is in
/// the index. Committed with the documents, so a crash loses both or
/// neither; one number, so a commit costs the same whatever the number of
/// rooms.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Payload {
    pos: Pos,
}

impl SearchIndex {
    /// Open the index in `dir`, or make a new empty one when the folder is
    /// missing, from another [`INDEX_VERSION`], or cannot be opened (a
    /// corrupt index is logged and rebuilt, never fatal). The flag says
    /// whether it was made new (and so must be filled from the store).
    pub fn open_or_rebuild(dir: &Path) -> Result<(SearchIndex, bool), SearchError> {
        let version_ok = std::fs::read_to_string(dir.join(VERSION_FILE))
            .is_ok_and(|v| v.trim() == INDEX_VERSION);
        if version_ok {
            // Opened, the schema this build's, and its saved positions
            // readable; anything else is rebuilt.
            let opened = Index::open_in_dir(dir)
                .map_err(SearchError::from)
                .and_then(|index| SearchIndex::wrap(index, dir))
                .and_then(|index| index.indexed_pos().map(|_| index));
            match opened {
                Ok(index) => return Ok((index, false)),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable: rebuilding it");
                }
            }
        } else if dir.exists() {
            tracing::info!(dir = %dir.display(), "search index missing or from another version: rebuilding it");
        }
        Ok((SearchIndex::create(dir)?, true))
    }

    /// A new empty index in `dir`, replacing whatever was there.
    pub fn create(dir: &Path) -> Result<SearchIndex, SearchError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let (schema, _) = schema();
        let index = Index::create_in_dir(dir, schema)?;
        // The marker is written last: a crash before it leaves a folder
        // that the next start rebuilds.
        std::fs::write(dir.join(VERSION_FILE), INDEX_VERSION)?;
        SearchIndex::wrap(index, dir)
    }

    fn wrap(index: Index, dir: &Path) -> Result<SearchIndex, SearchError> {
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(SearchError::Index("schema differs from this build".into()));
        }
        index.tokenizers().register(ANALYZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The only writer (tantivy locks the folder for it).
    pub fn writer(&self) -> Result<IndexWriter, SearchError> {
        Ok(self.index.writer_with_num_threads(1, WRITER_HEAP_BYTES)?)
    }

    /// The position saved with the last commit (0: none yet).
    pub fn indexed_pos(&self) -> Result<Pos, SearchError> {
        let metas = self.index.load_metas()?;
        match metas.payload {
            None => Ok(0),
            Some(p) => Ok(serde_json::from_str::<Payload>(&p)
                .map_err(|e| SearchError::Index(format!("bad commit payload: {e}")))?
                .pos),
        }
    }

    /// Commit what `writer` holds, saying that every event up to `pos` is
    /// in it, and let searches see it.
    pub fn commit(&self, writer: &mut IndexWriter, pos: Pos) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload { pos })
            .map_err(|e| SearchError::Index(e.to_string()))?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn key(&self, room: RoomId, seq: RoomSeq) -> Term {
        Term::from_field_text(self.fields.key, &format!("{room}/{seq}"))
    }

    /// Remove a message's document (no-op if it has none).
    pub fn delete(&self, writer: &IndexWriter, room: RoomId, seq: RoomSeq) {
        writer.delete_term(self.key(room, seq));
    }

    /// Replace a message's document by this one.
    pub fn upsert(&self, writer: &IndexWriter, doc: &MessageDoc<'_>) -> Result<(), SearchError> {
        let f = self.fields;
        writer.delete_term(self.key(doc.room, doc.seq));
        let mut d = TantivyDocument::default();
        d.add_text(f.key, format!("{}/{}", doc.room, doc.seq));
        d.add_text(f.room, doc.room.to_string());
        d.add_u64(f.seq, doc.seq);
        d.add_text(f.author, doc.author.to_string());
        d.add_u64(f.ts, doc.ts);
        d.add_u64(f.pos, doc.pos);
        d.add_text(f.body, doc.body);
        for flag in &doc.flags {
            d.add_text(f.flags, *flag);
        }
        for m in &doc.mentions {
            d.add_text(f.mentions, m);
        }
        writer.add_document(d)?;
        Ok(())
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Run a query. `check` re-reads each hit from the store and returns
    /// its current text and metadata if the caller may see it (otherwise
    /// the hit is dropped). Returns the page and whether more hits follow.
    pub fn search<F>(
        &self,
        req: &IndexQuery<'_>,
        mut check: F,
    ) -> Result<(Vec<Hit>, bool), SearchError>
    where
        F: FnMut(RoomId, RoomSeq) -> Result<Option<Checked>, SearchError>,
    {
        let query = self.build_query(req);
        let searcher = self.reader.searcher();
        // One more than the page says whether another page follows.
        let top = TopDocs::with_limit(req.limit + 1).and_offset(req.offset);
        let addrs: Vec<_> = if req.by_relevance {
            // BM25 from fixed statistics, never the index's own: those
            // count every room's documents, and the order of a caller's
            // own hits would tell them how common a word is in rooms they
            // may not read. Relevance is then term frequency and length
            // within each hit, which the caller can read anyway.
            searcher
                .search_with_statistics_provider(&query, &top.order_by_score(), &FixedStats)?
                .into_iter()
                .map(|(_, a)| a)
                .collect()
        } else {
            searcher
                .search(&query, &top.order_by_fast_field::<u64>("pos", Order::Desc))?
                .into_iter()
                .map(|(_, a)| a)
                .collect()
        };
        // The query's words, each weighted the same. Tantivy's own
        // `SnippetGenerator::create` weighs a word by how many documents
        // of the whole index hold it (every room's), and which part of a
        // long message becomes the snippet would then leak that count.
        let mut words = std::collections::BTreeSet::new();
        query.query_terms(&mut |term, _| {
            if term.field() == self.fields.body
                && let Some(w) = term.value().as_str()
            {
                words.insert(w.to_owned());
            }
        });
        let mut snippets = if req.parsed.has_text() {
            let weights = words.iter().map(|w| (w.clone(), 1.0)).collect();
            Some(SnippetGenerator::new(
                weights,
                analyzer(),
                self.fields.body,
                SNIPPET_CHARS,
            ))
        } else {
            None
        };
        let mut hits = Vec::with_capacity(req.limit);
        // Whether another page follows counts only hits the caller may see
        // (the extra one fetched above, checked like the rest), so that
        // `more` cannot count hidden documents.
        for addr in addrs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let room = doc
                .get_first(self.fields.room)
                .and_then(|v| v.as_str())
                .and_then(|s| s.parse::<uuid::Uuid>().ok())
                .map(|u| RoomId::from_bytes(*u.as_bytes()));
            let seq = doc.get_first(self.fields.seq).and_then(|v| v.as_u64());
            let (Some(room), Some(seq)) = (room, seq) else {
                tracing::warn!("search document without room or seq: skipped");
                continue;
            };
            let Some(checked) = check(room, seq)? else {
                continue;
            };
            // The stored text must still hold every word of the query (an
            // edit the index has not caught up with must not show that a
            // removed word was there).
            if !words.is_empty() && !holds_all(&checked.body, &words) {
                continue;
            }
            let (snippet, highlights) = match snippets.as_mut() {
                Some(g) => {
                    let s = g.snippet(&checked.body);
                    if s.highlighted().is_empty() {
                        continue;
                    }
                    let fragment = s.fragment().to_owned();
                    let ranges = s
                        .highlighted()
                        .iter()
                        .map(|r| utf16_range(&fragment, r.start, r.end))
                        .collect();
                    (fragment, ranges)
                }
                None => (prefix_chars(&checked.body, SNIPPET_CHARS), Vec::new()),
            };
            hits.push(Hit {
                room,
                seq,
                author: checked.author,
                ts: checked.ts,
                snippet,
                highlights,
            });
        }
        let more = hits.len() > req.limit;
        hits.truncate(req.limit);
        Ok((hits, more))
    }

    fn build_query(&self, req: &IndexQuery<'_>) -> Box<dyn Query> {
        let f = self.fields;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut analyzer = analyzer();
        let mut terms_of = |text: &str| -> Vec<Term> {
            let mut out = Vec::new();
            let mut stream = analyzer.token_stream(text);
            while let Some(t) = stream.next() {
                out.push(Term::from_field_text(f.body, &t.text));
            }
            out
        };
        // A word that the analyzer splits ("e-mail", "org-chart") is
        // matched as a phrase of its parts; a word that is all punctuation
        // matches nothing and is ignored.
        for text in req.parsed.words.iter().chain(&req.parsed.phrases) {
            let terms = terms_of(text);
            match terms.len() {
                0 => {}
                1 => must.extend(terms.into_iter().map(|t| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Box<dyn Query>,
                    )
                })),
                _ => must.push((Occur::Must, Box::new(PhraseQuery::new(terms)))),
            }
        }
        let set = |field: Field, values: &mut dyn Iterator<Item = String>| -> Box<dyn Query> {
            Box::new(TermSetQuery::new(
                values.map(|v| Term::from_field_text(field, &v)),
            ))
        };
        // The rooms the caller may read: the first line of visibility (each
        // hit is checked against the store again).
        must.push((
            Occur::Must,
            set(f.room, &mut req.rooms.iter().map(|r| r.to_string())),
        ));
        if let Some(authors) = req.authors {
            must.push((
                Occur::Must,
                set(f.author, &mut authors.iter().map(|u| u.to_string())),
            ));
        }
        let mut flag = |name: &str| {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.flags, name),
                    IndexRecordOption::Basic,
                )),
            ));
        };
        if req.parsed.has_link {
            flag("link");
        }
        if req.parsed.has_file {
            flag("file");
        }
        if req.parsed.is_question {
            flag("question");
        }
        if req.parsed.is_unanswered {
            flag("unanswered");
        }
        if let Some(me) = req.mentions {
            must.push((
                Occur::Must,
                set(
                    f.mentions,
                    &mut [me.to_string(), "@room".to_owned()].into_iter(),
                ),
            ));
        }
        if req.parsed.before.is_some() || req.parsed.after.is_some() {
            use std::ops::Bound;
            let lo = req.parsed.after.map_or(Bound::Unbounded, |t| {
                Bound::Included(Term::from_field_u64(f.ts, t))
            });
            let hi = req.parsed.before.map_or(Bound::Unbounded, |t| {
                Bound::Excluded(Term::from_field_u64(f.ts, t))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if !req.parsed.has_text() {
            must.push((Occur::Must, Box::new(AllQuery)));
        }
        Box::new(BooleanQuery::new(must))
    }
}

/// A query with everything resolved against the store.
pub struct IndexQuery<'a> {
    pub parsed: &'a ParsedQuery,
    /// Rooms the caller may read (and that `in:` kept).
    pub rooms: &'a [RoomId],
    /// `from:`: the ids of the named users (`None`: anyone).
    pub authors: Option<&'a [UserId]>,
    /// `mentions:me`: the caller's id.
    pub mentions: Option<UserId>,
    pub by_relevance: bool,
    pub offset: usize,
    pub limit: usize,
}

/// A hit as the store holds it now.
pub struct Checked {
    pub author: townhall_protocol::UserInfo,
    pub ts: Millis,
    pub body: String,
}

/// One result.
pub struct Hit {
    pub room: RoomId,
    pub seq: RoomSeq,
    pub author: townhall_protocol::UserInfo,
    pub ts: Millis,
    pub snippet: String,
    /// `[start, end)` in UTF-16 code units of `snippet` (what JavaScript's
    /// `slice` takes).
    pub highlights: Vec<[u32; 2]>,
}

/// A byte range of `s` as UTF-16 offsets.
fn utf16_range(s: &str, start: usize, end: usize) -> [u32; 2] {
    let count = |upto: usize| -> u32 {
        let upto = upto.min(s.len());
        s.char_indices()
            .take_while(|(i, _)| *i < upto)
            .map(|(_, c)| c.len_utf16() as u32)
            .sum()
    };
    [count(start), count(end)]
}

fn prefix_chars(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Whether `body`, analysed as the index analyses it, holds every word.
fn holds_all(body: &str, words: &std::collections::BTreeSet<String>) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    let mut a = analyzer();
    let mut stream = a.token_stream(body);
    while let Some(t) = stream.next() {
        if words.contains(&t.text) {
            seen.insert(t.text.clone());
        }
    }
    seen.len() == words.len()
}

/// BM25 statistics that say nothing about the index: a fixed corpus where
/// every word is in one document of a thousand, each 12 words long.
struct FixedStats;

impl tantivy::query::Bm25StatisticsProvider for FixedStats {
    fn total_num_tokens(&self, _field: Field) -> tantivy::Result<u64> {
        Ok(12_000)
    }
    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(1_000)
    }
    fn doc_freq(&self, _term: &Term) -> tantivy::Result<u64> {
        Ok(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_analyzer_folds_case_accents_and_stems() {
        let mut a = analyzer();
        let mut out = Vec::new();
        let mut s = a.token_stream("Running CAFÉ naïve runs, 東京");
        while let Some(t) = s.next() {
            out.push(t.text.clone());
        }
        assert_eq!(out, ["run", "cafe", "naiv", "run", "東京"]);
    }

    /// Two messages in one millisecond and one commit (one segment):
    /// newest first is by position. Ordered by `ts`, tantivy left the tie
    /// in document order, oldest first (a 50 ms indexing round hid it by
    /// putting most messages in segments of their own).
    #[test]
    fn newest_first_is_by_position_within_a_millisecond() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (index, _) = SearchIndex::open_or_rebuild(dir.path()).expect("index");
        let mut writer = index.writer().expect("writer");
        let room = RoomId(uuid::Uuid::from_u128(1));
        let author = UserId(uuid::Uuid::from_u128(2));
        for (seq, pos) in [(1, 10), (2, 11), (3, 12)] {
            let doc = MessageDoc {
                room,
                seq,
                author,
                ts: 1_767_312_000_000,
                pos,
                body: "same millisecond",
                flags: Vec::new(),
                mentions: Vec::new(),
            };
            index.upsert(&writer, &doc).expect("upsert");
        }
        index.commit(&mut writer, 12).expect("commit");
        let parsed = super::super::query::parse("millisecond").expect("query");
        let req = IndexQuery {
            parsed: &parsed,
            rooms: &[room],
            authors: None,
            mentions: None,
            by_relevance: false,
            offset: 0,
            limit: 10,
        };
        let (hits, more) = index
            .search(&req, |_, _| {
                Ok(Some(Checked {
                    author: townhall_protocol::UserInfo {
                        id: author,
                        username: "alice".into(),
                        display_name: "Alice".into(),
                        role: townhall_protocol::Role::Staff,
                        transformation_team: false,
                        avatar: None,
                    },
                    ts: 1_767_312_000_000,
                    body: "same millisecond".into(),
                }))
            })
            .expect("search");
        assert!(!more);
        let seqs: Vec<RoomSeq> = hits.iter().map(|h| h.seq).collect();
        assert_eq!(seqs, [3, 2, 1]);
    }

    #[test]
    fn highlight_ranges_are_utf16() {
        assert_eq!(utf16_range("é x", 3, 4), [2, 3]);
        assert_eq!(utf16_range("😀ab", 4, 6), [2, 4]);
    }
}
