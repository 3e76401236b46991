//! persons, organisations, org_representatives.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, StoreError};
use crate::identity::person::{format_date, parse_date};
use crate::identity::{AccountLevel, Organisation, Person, PersonId, PersonStatus, PersonalId, RepresentativeRole, Sex};

/// What a sign-in needs besides the person: secrets and throttling state.
#[derive(Debug, Clone)]
pub struct LoginState {
    pub password_hash: Option<String>,
    pub totp_secret_sealed: Option<String>,
    pub failed_logins: i64,
    pub locked_until: i64,
}

pub(crate) const PERSON_COLUMNS: &str = "id, personal_id, family_name, middle_name, given_name, birthdate, sex, \
     nationality, address, phone, email, account_level, status";

pub(crate) fn person_from_row(row: &AnyRow) -> Result<Person> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("persons.{what}"));
    let pid: String = row.try_get("personal_id")?;
    let birthdate: Option<String> = row.try_get("birthdate")?;
    let sex: Option<String> = row.try_get("sex")?;
    let level: i64 = row.try_get("account_level")?;
    let status: String = row.try_get("status")?;
    Ok(Person {
        id: row.try_get("id")?,
        personal_id: PersonalId::parse(&pid).map_err(|_| corrupt("personal_id"))?,
        family_name: row.try_get("family_name")?,
        middle_name: row.try_get("middle_name")?,
        given_name: row.try_get("given_name")?,
        birthdate: birthdate.as_deref().map(|d| parse_date(d).ok_or_else(|| corrupt("birthdate"))).transpose()?,
        sex: sex.as_deref().map(|s| Sex::parse(s).ok_or_else(|| corrupt("sex"))).transpose()?,
        nationality: row.try_get("nationality")?,
        address: row.try_get("address")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        account_level: AccountLevel::from_i64(level).ok_or_else(|| corrupt("account_level"))?,
        status: PersonStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
    })
}

pub(super) fn role_from_row(r: &AnyRow) -> Result<RepresentativeRole> {
    let role: String = r.try_get("role")?;
    RepresentativeRole::parse(&role).ok_or_else(|| StoreError::Corrupt("org_representatives.role".into()))
}

fn org_from_row(r: &AnyRow) -> Result<Organisation> {
    Ok(Organisation {
        id: r.try_get("id")?,
        code: r.try_get("code")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        address: r.try_get("address")?,
    })
}

impl Store {
    /// Inserts or updates a person keyed by personal ID; returns the internal id.
    pub async fn upsert_person(&self, p: &Person, now: i64) -> Result<PersonId> {
        let row = sqlx::query(
            "INSERT INTO persons (id, personal_id, family_name, middle_name, given_name, birthdate, sex, \
                 nationality, address, phone, email, account_level, status, created_at, updated_at, search_name) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14,$15) \
             ON CONFLICT (personal_id) DO UPDATE SET family_name=excluded.family_name, search_name=excluded.search_name, \
                 middle_name=excluded.middle_name, given_name=excluded.given_name, \
                 birthdate=excluded.birthdate, sex=excluded.sex, nationality=excluded.nationality, \
                 address=excluded.address, phone=excluded.phone, email=excluded.email, \
                 account_level=excluded.account_level, status=excluded.status, updated_at=excluded.updated_at \
             RETURNING id",
        )
        .bind(&p.id)
        .bind(p.personal_id.as_str())
        .bind(&p.family_name)
        .bind(&p.middle_name)
        .bind(&p.given_name)
        .bind(p.birthdate.map(format_date))
        .bind(p.sex.map(|s| s.as_str().to_string()))
        .bind(&p.nationality)
        .bind(&p.address)
        .bind(&p.phone)
        .bind(&p.email)
        .bind(p.account_level.as_i64())
        .bind(p.status.as_str())
        .bind(now)
        .bind(crate::identity::search::fold(&p.full_name()))
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    pub async fn set_password_hash(&self, person_id: &PersonId, hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE persons SET password_hash=$2, updated_at=$3 WHERE id=$1")
            .bind(person_id)
            .bind(hash)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn set_totp_secret(&self, person_id: &PersonId, sealed: Option<&str>, now: i64) -> Result<()> {
        sqlx::query("UPDATE persons SET totp_secret=$2, totp_last_step=0, updated_at=$3 WHERE id=$1")
            .bind(person_id)
            .bind(sealed)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn person(&self, person_id: &PersonId) -> Result<Option<Person>> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id=$1");
        let row = sqlx::query(&sql).bind(person_id).fetch_optional(self.pool()).await?;
        row.as_ref().map(person_from_row).transpose()
    }

    pub async fn person_for_login(&self, pid: &PersonalId) -> Result<Option<(Person, LoginState)>> {
        self.login_lookup("personal_id", pid.as_str()).await
    }

    pub async fn person_for_login_by_id(&self, person_id: &PersonId) -> Result<Option<(Person, LoginState)>> {
        self.login_lookup("id", person_id).await
    }

    async fn login_lookup(&self, column: &'static str, value: &str) -> Result<Option<(Person, LoginState)>> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS}, password_hash, totp_secret, failed_logins, locked_until \
             FROM persons WHERE {column}=$1"
        );
        let Some(row) = sqlx::query(&sql).bind(value).fetch_optional(self.pool()).await? else {
            return Ok(None);
        };
        let state = LoginState {
            password_hash: row.try_get("password_hash")?,
            totp_secret_sealed: row.try_get("totp_secret")?,
            failed_logins: row.try_get("failed_logins")?,
            locked_until: row.try_get("locked_until")?,
        };
        Ok(Some((person_from_row(&row)?, state)))
    }

    pub async fn reset_login_failures(&self, person_id: &PersonId) -> Result<()> {
        sqlx::query("UPDATE persons SET failed_logins=0, locked_until=0 WHERE id=$1 AND failed_logins<>0")
            .bind(person_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a TOTP time step as used; false when that step (or a later one) was used already,
    /// which makes every code single-use.
    pub async fn claim_totp_step(&self, person_id: &PersonId, step: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE persons SET totp_last_step=$2 WHERE id=$1 AND totp_last_step < $2")
            .bind(person_id)
            .bind(step)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn upsert_organisation(&self, org: &Organisation, now: i64) -> Result<String> {
        let row = sqlx::query(
            "INSERT INTO organisations (id, code, kind, name, address, created_at) VALUES ($1,$2,$3,$4,$5,$6) \
             ON CONFLICT (code) DO UPDATE SET kind=excluded.kind, name=excluded.name, address=excluded.address \
             RETURNING id",
        )
        .bind(&org.id)
        .bind(&org.code)
        .bind(&org.kind)
        .bind(&org.name)
        .bind(&org.address)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The organisations a person may act for, with their role, by name.
    pub async fn representations(&self, person_id: &PersonId) -> Result<Vec<(Organisation, RepresentativeRole)>> {
        let rows = sqlx::query(
            "SELECT o.id, o.code, o.kind, o.name, o.address, r.role FROM org_representatives r \
             JOIN organisations o ON o.id = r.org_id WHERE r.person_id=$1 ORDER BY o.name",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((org_from_row(r)?, role_from_row(r)?))).collect()
    }

    /// The agency and title of an official.
    pub async fn official(&self, person_id: &PersonId) -> Result<Option<(Organisation, String)>> {
        let row = sqlx::query(
            "SELECT o.id, o.code, o.kind, o.name, o.address, f.title FROM officials f \
             JOIN organisations o ON o.id = f.org_id WHERE f.person_id=$1",
        )
        .bind(person_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| Ok((org_from_row(&r)?, r.try_get("title")?))).transpose()
    }

    pub async fn put_official(&self, person_id: &PersonId, org_id: &str, title: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO officials (person_id, org_id, title, created_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (person_id) DO UPDATE SET org_id=excluded.org_id, title=excluded.title",
        )
        .bind(person_id)
        .bind(org_id)
        .bind(title)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn add_representative(&self, org_id: &str, person_id: &PersonId, role: RepresentativeRole) -> Result<()> {
        sqlx::query(
            "INSERT INTO org_representatives (org_id, person_id, role) VALUES ($1,$2,$3) \
             ON CONFLICT (org_id, person_id) DO UPDATE SET role=excluded.role",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(role.as_str())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

/// Where a resumable import stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    pub byte_offset: i64,
    pub line: i64,
    pub imported: i64,
    pub rejected: i64,
}

/// Rows per INSERT statement: 14 parameters each stays far below both backends' limits.
const ROWS_PER_STATEMENT: usize = 500;

/// One validated organisation row of an import (`nixa org import`).
#[derive(Debug, Clone)]
pub struct OrgImportRow {
    /// The row's line in the source file, for the rejected rows report.
    pub line: i64,
    /// A new id; an organisation already registered under the code keeps its own.
    pub org: Organisation,
    pub representative: Option<(PersonalId, RepresentativeRole)>,
}

/// A row whose representative is not in the person registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRepresentative {
    pub line: i64,
    pub personal_id: String,
}

impl Store {
    pub async fn import_checkpoint(&self, source: &str) -> Result<Option<Checkpoint>> {
        let row = sqlx::query("SELECT byte_offset, line, imported, rejected FROM import_checkpoints WHERE source=$1")
            .bind(source)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Checkpoint {
                byte_offset: r.try_get("byte_offset")?,
                line: r.try_get("line")?,
                imported: r.try_get("imported")?,
                rejected: r.try_get("rejected")?,
            })
        })
        .transpose()
    }

    pub async fn clear_import_checkpoint(&self, source: &str) -> Result<()> {
        sqlx::query("DELETE FROM import_checkpoints WHERE source=$1").bind(source).execute(self.pool()).await?;
        Ok(())
    }

    /// Upserts a batch of persons keyed by personal ID and moves the checkpoint, in one
    /// transaction: a crash leaves either the whole batch and its checkpoint or neither.
    pub async fn import_persons(&self, persons: &[Person], source: &str, checkpoint: &Checkpoint, now: i64) -> Result<()> {
        let mut tx = self.begin_import().await?;
        for chunk in persons.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(128 + chunk.len() * 80);
            sql.push_str(
                "INSERT INTO persons (id, personal_id, family_name, middle_name, given_name, birthdate, sex, \
                 nationality, address, phone, email, account_level, status, search_name, created_at, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 14;
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                self.push_params(&mut sql, b, 14);
                sql.push_str(&format!("{0},{0})", now));
            }
            sql.push_str(
                " ON CONFLICT (personal_id) DO UPDATE SET family_name=excluded.family_name, \
                 middle_name=excluded.middle_name, given_name=excluded.given_name, birthdate=excluded.birthdate, \
                 sex=excluded.sex, nationality=excluded.nationality, address=excluded.address, phone=excluded.phone, \
                 email=excluded.email, account_level=excluded.account_level, search_name=excluded.search_name, \
                 updated_at=excluded.updated_at",
            );
            let mut q = sqlx::query(&sql);
            for p in chunk {
                q = q
                    .bind(&p.id)
                    .bind(p.personal_id.as_str())
                    .bind(&p.family_name)
                    .bind(&p.middle_name)
                    .bind(&p.given_name)
                    .bind(p.birthdate.map(format_date))
                    .bind(p.sex.map(|s| s.as_str().to_string()))
                    .bind(&p.nationality)
                    .bind(&p.address)
                    .bind(&p.phone)
                    .bind(&p.email)
                    .bind(p.account_level.as_i64())
                    .bind(p.status.as_str())
                    .bind(crate::identity::search::fold(&p.full_name()));
            }
            q.execute(&mut *tx).await?;
        }
        save_checkpoint(&mut tx, source, checkpoint, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Upserts a batch of organisations keyed by code, links their representatives and moves
    /// the checkpoint, in one transaction.
    ///
    /// An organisation listed on several rows (one per representative, say) is written once with
    /// its last row's name and address; every row's representative is linked, a later role for
    /// the same person replacing an earlier one. Links are only added or updated: a representative
    /// missing from the file is not removed.
    ///
    /// A representative whose personal ID is not in the registry is not silently dropped: the
    /// organisation is still imported, but the row counts as rejected (the checkpoint written
    /// moves it from `imported` to `rejected`) and is returned. `before_commit` sees those rows
    /// before the transaction commits, so the caller can report them; if it fails, nothing of the
    /// batch is kept and a resumed import reports them again, as it does for invalid rows.
    pub async fn import_orgs<E: From<StoreError>>(
        &self,
        rows: &[OrgImportRow],
        source: &str,
        checkpoint: &Checkpoint,
        now: i64,
        before_commit: impl FnOnce(&[UnknownRepresentative]) -> std::result::Result<(), E>,
    ) -> std::result::Result<Vec<UnknownRepresentative>, E> {
        let (tx, unknown) = self.stage_orgs(rows, source, checkpoint, now).await?;
        // Returning early drops the transaction, which rolls it back.
        before_commit(&unknown)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(unknown)
    }

    async fn stage_orgs(
        &self,
        rows: &[OrgImportRow],
        source: &str,
        checkpoint: &Checkpoint,
        now: i64,
    ) -> Result<(sqlx::Transaction<'static, sqlx::Any>, Vec<UnknownRepresentative>)> {
        let mut tx = self.begin_import().await?;
        // One entry per code, the last row winning: PostgreSQL refuses to update a row twice in
        // one statement.
        let mut index = std::collections::HashMap::with_capacity(rows.len());
        let mut orgs: Vec<&Organisation> = Vec::with_capacity(rows.len());
        for r in rows {
            match index.entry(r.org.code.as_str()) {
                std::collections::hash_map::Entry::Occupied(e) => orgs[*e.get()] = &r.org,
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(orgs.len());
                    orgs.push(&r.org);
                }
            }
        }
        for chunk in orgs.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::with_capacity(128 + chunk.len() * 40);
            sql.push_str("INSERT INTO organisations (id, code, kind, name, address, created_at) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                sql.push('(');
                self.push_params(&mut sql, i * 5, 5);
                sql.push_str(&format!("{now})"));
            }
            sql.push_str(" ON CONFLICT (code) DO UPDATE SET kind=excluded.kind, name=excluded.name, address=excluded.address");
            let mut q = sqlx::query(&sql);
            for o in chunk {
                q = q.bind(&o.id).bind(&o.code).bind(&o.kind).bind(&o.name).bind(&o.address);
            }
            q.execute(&mut *tx).await?;
        }
        let mut unknown = Vec::new();
        for r in rows {
            let Some((pid, role)) = &r.representative else { continue };
            // Inserts nothing when the person is unknown (the organisation was just written).
            let linked = sqlx::query(
                "INSERT INTO org_representatives (org_id, person_id, role) \
                 SELECT o.id, p.id, $1 FROM organisations o, persons p WHERE o.code=$2 AND p.personal_id=$3 \
                 ON CONFLICT (org_id, person_id) DO UPDATE SET role=excluded.role",
            )
            .bind(role.as_str())
            .bind(&r.org.code)
            .bind(pid.as_str())
            .execute(&mut *tx)
            .await?;
            if linked.rows_affected() == 0 {
                unknown.push(UnknownRepresentative { line: r.line, personal_id: pid.as_str().to_string() });
            }
        }
        let moved = unknown.len() as i64;
        let written = Checkpoint { imported: checkpoint.imported - moved, rejected: checkpoint.rejected + moved, ..checkpoint.clone() };
        save_checkpoint(&mut tx, source, &written, now).await?;
        Ok((tx, unknown))
    }

    async fn begin_import(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == super::Backend::Sqlite {
            // Random-order keys (UUIDs, personal IDs) thrash SQLite's default 2 MiB page cache on
            // bulk loads; 64 MiB for this connection keeps the index pages in memory.
            sqlx::query("PRAGMA cache_size = -65536").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Appends `count` parameter placeholders, each followed by a comma, numbered from
    /// `before + 1` on PostgreSQL.
    fn push_params(&self, sql: &mut String, before: usize, count: usize) {
        for j in 1..=count {
            // SQLite looks numbered parameters up by name in a list, which makes binding
            // thousands of them quadratic; its anonymous `?` is positional and O(1).
            match self.backend() {
                super::Backend::Sqlite => sql.push_str("?,"),
                super::Backend::Postgres => sql.push_str(&format!("${},", before + j)),
            }
        }
    }

    pub async fn count_persons(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM persons").fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }

    pub async fn count_organisations(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM organisations").fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }
}

async fn save_checkpoint(tx: &mut sqlx::Transaction<'static, sqlx::Any>, source: &str, checkpoint: &Checkpoint, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO import_checkpoints (source, byte_offset, line, imported, rejected, updated_at) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (source) DO UPDATE SET byte_offset=excluded.byte_offset, \
         line=excluded.line, imported=excluded.imported, rejected=excluded.rejected, updated_at=excluded.updated_at",
    )
    .bind(source)
    .bind(checkpoint.byte_offset)
    .bind(checkpoint.line)
    .bind(checkpoint.imported)
    .bind(checkpoint.rejected)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
