//! One error type for every handler: JSON `{"code", "message"}` with a stable code and an
//! HTTP status. Storage faults are logged here, once, where they are answered.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::service::ServiceError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn internal(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> AppError {
        self.detail = Some(detail);
        self
    }
}

impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> AppError {
        match e {
            ServiceError::NoStation(s) => AppError::not_found(format!("no station `{s}`")),
            ServiceError::NotFound(s) => AppError::not_found(format!("not found: {s}")),
            ServiceError::BadRequest(m) => AppError::bad_request("bad_request", m),
            ServiceError::Storage(crate::storage::StorageError::Shortfall(s)) => {
                AppError::new(StatusCode::CONFLICT, "insufficient_stock", s.to_string())
                    .with_detail(json!(s))
            }
            ServiceError::Storage(crate::storage::StorageError::Conflict(m)) => {
                AppError::new(StatusCode::CONFLICT, "conflict", m)
            }
            ServiceError::Storage(e) => {
                tracing::error!(error = %e, "storage error");
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_error",
                    e.to_string(),
                )
            }
        }
    }
}

impl From<crate::storage::StorageError> for AppError {
    fn from(e: crate::storage::StorageError) -> AppError {
        ServiceError::Storage(e).into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(d) = self.detail {
            body["detail"] = d;
        }
        (self.status, Json(body)).into_response()
    }
}
