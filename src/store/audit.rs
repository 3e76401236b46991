//! audit_log: append-only and hash-chained. Each entry's hash covers the previous entry's hash,
//! so removing or editing a row breaks the chain at that point. With a key (every server and
//! command since the keyed chain), the hash is an HMAC: whoever edits a row without the key
//! cannot re-hash the tail. Checkpoints record the head now and then, so a cut-off tail shows.
//!
//! No lock is taken: the next sequence number is the primary key, so two nodes appending at
//! once collide on the key and the loser re-reads the head and retries.

use sqlx::Row;

use super::{Result, Store, StoreError};
use crate::crypto::{b64url, hmac_sha256, sha256};
use crate::identity::PersonId;

#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub person_id: Option<PersonId>,
    pub client_id: Option<String>,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
    /// Hashed under the audit key.
    pub keyed: bool,
    /// Where the action came from, when it came through a request.
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// A checkpoint: the chain's head at some time, with an HMAC over it.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub mac: String,
}

pub const GENESIS: &str = "genesis";

/// What an entry's hash covers.
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'a> {
    pub seq: i64,
    pub at: i64,
    pub event: &'a str,
    pub person: Option<&'a str>,
    pub client: Option<&'a str>,
    pub detail: &'a str,
    pub prev: &'a str,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// An entry's hash: HMAC-SHA256 under `key`, or (entries from before the keyed chain) SHA-256.
/// The source is covered when there is one (entries written before it was recorded have none,
/// and removing it from one that had it changes the hash).
pub fn entry_hash(key: Option<&[u8]>, e: Hashed<'_>) -> String {
    let canonical = if e.client_addr.is_none() && e.user_agent.is_none() {
        serde_json::json!([e.seq, e.at, e.event, e.person, e.client, e.detail, e.prev]).to_string()
    } else {
        serde_json::json!([e.seq, e.at, e.event, e.person, e.client, e.detail, e.prev, e.client_addr, e.user_agent]).to_string()
    };
    match key {
        Some(k) => b64url(&hmac_sha256(k, &[b"audit-entry", canonical.as_bytes()])),
        None => b64url(&sha256(canonical.as_bytes())),
    }
}

pub fn checkpoint_mac(key: &[u8], seq: i64, hash: &str) -> String {
    b64url(&hmac_sha256(key, &[b"audit-checkpoint", seq.to_string().as_bytes(), hash.as_bytes()]))
}

impl Store {
    pub async fn append_audit(
        &self,
        at: i64,
        event: &str,
        person_id: Option<&PersonId>,
        client_id: Option<&str>,
        detail: &str,
        source: Option<&crate::audit::Source>,
    ) -> Result<i64> {
        let client_addr = source.map(|s| s.client_addr.as_str());
        let user_agent = source.and_then(|s| s.user_agent.as_deref());
        for _ in 0..16 {
            let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
            let (seq, prev) = match head {
                Some(r) => (r.try_get::<i64, _>("seq")? + 1, r.try_get::<String, _>("hash")?),
                None => (1, GENESIS.to_string()),
            };
            let key = self.audit_key();
            let person = person_id.map(PersonId::as_str);
            let fields = Hashed { seq, at, event, person, client: client_id, detail, prev: &prev, client_addr, user_agent };
            let hash = entry_hash(key, fields);
            let inserted = sqlx::query(
                "INSERT INTO audit_log (seq, at, event, person_id, client_id, detail, prev_hash, hash, keyed, client_addr, user_agent) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (seq) DO NOTHING",
            )
            .bind(seq)
            .bind(at)
            .bind(event)
            .bind(person_id)
            .bind(client_id)
            .bind(detail)
            .bind(&prev)
            .bind(&hash)
            .bind(i64::from(key.is_some()))
            .bind(client_addr)
            .bind(user_agent)
            .execute(self.pool())
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(seq);
            }
        }
        Err(StoreError::Corrupt("audit log head kept moving; gave up after 16 tries".into()))
    }

    pub async fn audit_entries(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, event, person_id, client_id, detail, prev_hash, hash, keyed, client_addr, user_agent FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Every entry about one person, in order (the person's own export).
    pub async fn audit_of_person(&self, person_id: &PersonId) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at, event, person_id, client_id, detail, prev_hash, hash, keyed, client_addr, user_agent FROM audit_log \
             WHERE person_id=$1 ORDER BY seq",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Records the chain's head as a checkpoint (nothing when there is no key or no entry, or
    /// the head is recorded already); returns the new checkpoint.
    pub async fn checkpoint_audit(&self, now: i64) -> Result<Option<Checkpoint>> {
        let Some(key) = self.audit_key() else { return Ok(None) };
        let Some(head) = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await? else {
            return Ok(None);
        };
        let (seq, hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
        let mac = checkpoint_mac(key, seq, &hash);
        let r = sqlx::query("INSERT INTO audit_checkpoints (seq, hash, mac, at) VALUES ($1,$2,$3,$4) ON CONFLICT (seq) DO NOTHING")
            .bind(seq)
            .bind(&hash)
            .bind(&mac)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok((r.rows_affected() == 1).then_some(Checkpoint { seq, hash, mac }))
    }

    pub async fn audit_checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows = sqlx::query("SELECT seq, hash, mac FROM audit_checkpoints ORDER BY seq").fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(Checkpoint { seq: r.try_get("seq")?, hash: r.try_get("hash")?, mac: r.try_get("mac")? })).collect()
    }

    /// The entry at `seq`, if any (its hash).
    pub async fn audit_hash_at(&self, seq: i64) -> Result<Option<String>> {
        let row = sqlx::query("SELECT hash FROM audit_log WHERE seq=$1").bind(seq).fetch_optional(self.pool()).await?;
        row.map(|r| Ok(r.try_get("hash")?)).transpose()
    }
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        event: r.try_get("event")?,
        person_id: r.try_get("person_id")?,
        client_id: r.try_get("client_id")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        keyed: r.try_get::<i64, _>("keyed")? != 0,
        client_addr: r.try_get("client_addr")?,
        user_agent: r.try_get("user_agent")?,
    })
}

/// Which audit entries an auditor asks for; every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub event: Option<String>,
    pub person_id: Option<PersonId>,
    pub client_id: Option<String>,
    /// The operator as entries name them (`detail.operator`).
    pub operator: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Store {
    /// The newest entries matching the filter, before `before_seq` if given, newest first.
    pub async fn audit_search(&self, f: &AuditFilter, before_seq: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let mut clauses: Vec<String> = Vec::new();
        let mut text: Vec<String> = Vec::new();
        let mut ints: Vec<i64> = Vec::new();
        // Text parameters first, then integers, numbered in that order.
        let push_text = |clause: &str, v: String, clauses: &mut Vec<String>, text: &mut Vec<String>| {
            text.push(v);
            clauses.push(clause.replace('?', &format!("${}", text.len())));
        };
        if let Some(e) = &f.event {
            push_text("event = ?", e.clone(), &mut clauses, &mut text);
        }
        if let Some(p) = &f.person_id {
            push_text("person_id = ?", p.as_str().to_string(), &mut clauses, &mut text);
        }
        if let Some(c) = &f.client_id {
            push_text("client_id = ?", c.clone(), &mut clauses, &mut text);
        }
        if let Some(o) = &f.operator {
            // The detail is stored as compact JSON written by serde_json: the member is exact.
            let exact = serde_json::json!({"operator": o}).to_string();
            let member = exact.trim_start_matches('{').trim_end_matches('}').replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            push_text("detail LIKE ? ESCAPE '\\'", format!("%{member}%"), &mut clauses, &mut text);
        }
        let base = text.len();
        for (clause, v) in [("at >= ?", f.from), ("at <= ?", f.to), ("seq < ?", before_seq)] {
            if let Some(v) = v {
                ints.push(v);
                clauses.push(clause.replace('?', &format!("${}", base + ints.len())));
            }
        }
        let filter = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
        let sql = format!(
            "SELECT seq, at, event, person_id, client_id, detail, prev_hash, hash, keyed, client_addr, user_agent FROM audit_log \
             {filter} ORDER BY seq DESC LIMIT {}",
            limit.clamp(1, 100_000)
        );
        let mut q = sqlx::query(&sql);
        for t in text {
            q = q.bind(t);
        }
        for i in ints {
            q = q.bind(i);
        }
        q.fetch_all(self.pool()).await?.iter().map(entry_from_row).collect()
    }
}
