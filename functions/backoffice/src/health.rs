//! `GET /api/v1/lottery/health`: the database opens, is migrated and
//! answers.

use spin_sdk::http::Response;
use tombola_edge::answer;
use tombola_edge::error::ApiError;

use crate::db::Db;

/// 200 with the schema version, or the database's error (503 when busy).
pub fn get(db: &Db) -> Result<Response, ApiError> {
    let version = db.version()?;
    Ok(answer::json(
        200,
        &serde_json::json!({ "status": "ok", "schema_version": version }),
    ))
}
