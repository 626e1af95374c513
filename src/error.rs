//! The one error type of the API. Every error a client sees carries `extensions.code`
//! (docs/rules.md, "What an error looks like"); internal details are logged, never sent.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error without a code, so keeping it out makes the compiler route every
//! conversion through `From<ApiError> for async_graphql::Error` (in `graphql`, the layer that
//! speaks GraphQL; this module stays below every layer, free of it).

use sea_orm::DbErr;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum ApiError {
    /// No valid credential.
    Unauthenticated(&'static str),
    /// The object does not exist or is outside the caller's reach.
    NotFound(String),
    /// The caller sees the object but may not do this.
    Forbidden(String),
    /// Malformed input.
    BadUserInput(String),
    /// The request is valid but the current state forbids it; `ids` are the objects in the way.
    Conflict { message: String, ids: Vec<Uuid> },
    /// One object more than a limit allows (`quotas`): malformed input, with the limit named.
    OverLimit {
        limit: &'static str,
        max: u64,
        message: String,
    },
    /// Anything else. The detail is logged where it happens, the client sees only the code.
    Internal,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "UNAUTHENTICATED",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::BadUserInput(_) | ApiError::OverLimit { .. } => "BAD_USER_INPUT",
            ApiError::Conflict { .. } => "CONFLICT",
            ApiError::Internal => "INTERNAL",
        }
    }

    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthenticated(m) => (*m).to_owned(),
            ApiError::NotFound(m)
            | ApiError::Forbidden(m)
            | ApiError::BadUserInput(m)
            | ApiError::Conflict { message: m, .. }
            | ApiError::OverLimit { message: m, .. } => m.clone(),
            ApiError::Internal => "internal error".to_owned(),
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }

    /// Logs `detail` and returns the masked error the client sees.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        ApiError::Internal
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        // A unique constraint hit by a concurrent request that passed the same check a moment
        // earlier: the state forbids it now, which is a conflict, not a fault.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            tracing::info!(%detail, "unique constraint refused a write");
            return ApiError::Conflict {
                message: "this was just done by another request; reload and try again".to_owned(),
                ids: Vec::new(),
            };
        }
        ApiError::internal(format_args!("database: {err}"))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
