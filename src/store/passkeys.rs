//! passkeys (registered WebAuthn credentials) and webauthn_ceremonies (challenges in flight).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};
use crate::identity::PersonId;

#[derive(Debug, Clone)]
pub struct PasskeyRecord {
    pub id: String,
    pub person_id: PersonId,
    /// base64url of the raw credential id.
    pub credential_id: String,
    /// base64url of the WebAuthn user handle given to the authenticator.
    pub user_handle: String,
    pub name: String,
    /// The webauthn-rs `Passkey`, JSON.
    pub passkey: String,
    pub aaguid: String,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A ceremony taken from the table (it is gone from there).
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub person_id: Option<PersonId>,
    /// The webauthn-rs ceremony state, JSON.
    pub state: String,
}

const COLUMNS: &str = "id, person_id, credential_id, user_handle, name, passkey, aaguid, backup_eligible, created_at, last_used_at";

fn from_row(r: &AnyRow) -> Result<PasskeyRecord> {
    let be: i64 = r.try_get("backup_eligible")?;
    Ok(PasskeyRecord {
        id: r.try_get("id")?,
        person_id: r.try_get("person_id")?,
        credential_id: r.try_get("credential_id")?,
        user_handle: r.try_get("user_handle")?,
        name: r.try_get("name")?,
        passkey: r.try_get("passkey")?,
        aaguid: r.try_get("aaguid")?,
        backup_eligible: be != 0,
        created_at: r.try_get("created_at")?,
        last_used_at: r.try_get("last_used_at")?,
    })
}

impl Store {
    /// Stores a new passkey; false if this credential is already registered (to anyone).
    pub async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<bool> {
        let r = sqlx::query(&format!("INSERT INTO passkeys ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT DO NOTHING"))
            .bind(&p.id)
            .bind(&p.person_id)
            .bind(&p.credential_id)
            .bind(&p.user_handle)
            .bind(&p.name)
            .bind(&p.passkey)
            .bind(&p.aaguid)
            .bind(super::flag(p.backup_eligible))
            .bind(p.created_at)
            .bind(p.last_used_at)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// A person's passkeys, oldest first.
    pub async fn passkeys_of(&self, person_id: &PersonId) -> Result<Vec<PasskeyRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM passkeys WHERE person_id=$1 ORDER BY created_at, id"))
            .bind(person_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn passkey_by_credential(&self, credential_id: &str) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id=$1"))
            .bind(credential_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records a use: the updated credential (counter, backup state) replaces the one that was
    /// read, and only that one, so two concurrent sign-ins with the same assertion counter
    /// cannot both move it. False if the row changed or was removed meanwhile.
    pub async fn record_passkey_use(&self, id: &str, read: &str, updated: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE passkeys SET passkey=$3, last_used_at=$4 WHERE id=$1 AND passkey=$2")
            .bind(id)
            .bind(read)
            .bind(updated)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Removes one of the person's passkeys; `None` if it is not theirs (or already gone).
    pub async fn delete_passkey(&self, person_id: &PersonId, id: &str) -> Result<Option<PasskeyRecord>> {
        let row = sqlx::query(&format!("DELETE FROM passkeys WHERE id=$1 AND person_id=$2 RETURNING {COLUMNS}"))
            .bind(id)
            .bind(person_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn insert_ceremony(
        &self,
        id: &str,
        kind: &str,
        binding_hash: &str,
        person_id: Option<&PersonId>,
        state: &str,
        expires_at: i64,
    ) -> Result<()> {
        sqlx::query("INSERT INTO webauthn_ceremonies (id, kind, binding_hash, person_id, state, expires_at) VALUES ($1,$2,$3,$4,$5,$6)")
            .bind(id)
            .bind(kind)
            .bind(binding_hash)
            .bind(person_id)
            .bind(state)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Stores a ceremony in place of any other of the same kind and binding.
    pub async fn replace_ceremony(&self, id: &str, kind: &str, binding_hash: &str, state: &str, expires_at: i64) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM webauthn_ceremonies WHERE kind=$1 AND binding_hash=$2")
            .bind(kind)
            .bind(binding_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO webauthn_ceremonies (id, kind, binding_hash, person_id, state, expires_at) VALUES ($1,$2,$3,NULL,$4,$5)")
            .bind(id)
            .bind(kind)
            .bind(binding_hash)
            .bind(state)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes a live ceremony of this kind and binding: it is deleted whatever follows, so a
    /// challenge answers at most one response.
    pub async fn take_ceremony(&self, id: &str, kind: &str, binding_hash: &str, now: i64) -> Result<Option<Ceremony>> {
        let row = sqlx::query(
            "DELETE FROM webauthn_ceremonies WHERE id=$1 AND kind=$2 AND binding_hash=$3 RETURNING person_id, state, expires_at",
        )
        .bind(id)
        .bind(kind)
        .bind(binding_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let expires_at: i64 = r.try_get("expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(Ceremony { person_id: r.try_get("person_id")?, state: r.try_get("state")? }))
    }
}
