//! `GET /api/v1/sessions/{id}/recording`: a session's recording as an
//! asciinema v2 file (`application/x-asciicast`), playable with
//! `asciinema play` or any asciicast player.
//!
//! A REST-only route (a file download, not a tool): the same door (token,
//! Host, Origin, rate limit) as every route; any token may read it, a token
//! limited to named sessions only those. The recording of a session still
//! open is flushed first, so the download has everything printed so far.
//! After `session_close` the file stays in the recordings directory and is
//! still served by id (to tokens not limited to named sessions).

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use bytes::Bytes;
use serde_json::{Value, json};
use termbridge_actors::ActorError;
use termbridge_actors::terminal::{DescribeSession, RecordingFile};
use tokio::io::AsyncReadExt;

use crate::AppState;
use crate::access::Principal;
use crate::errors::ApiError;

/// The route's path (actix pattern and OpenAPI path alike).
pub const PATH: &str = "/api/v1/sessions/{id}/recording";
/// The media type of asciinema files.
pub const CONTENT_TYPE: &str = "application/x-asciicast";

/// Session ids as the terminal manager makes them (`s_` and hex): the only
/// names looked up on disk.
fn plausible_id(id: &str) -> bool {
    id.strip_prefix("s_").is_some_and(|hex| {
        !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// The handler.
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let principal = req
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or(ApiError::Unauthorized { token_sent: false })?;
    let id = req.match_info().get("id").unwrap_or_default().to_string();
    let terminal = &state.subsystems.terminal;
    let path = match terminal
        .ask(DescribeSession {
            session_id: id.clone(),
        })
        .await
    {
        Ok(info) => {
            if !principal.allows_session(&info.name) {
                return Err(ApiError::Forbidden(format!(
                    "token {:?} may not use session {:?}",
                    principal.name, info.name
                )));
            }
            terminal
                .ask(RecordingFile {
                    session_id: id.clone(),
                })
                .await?
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "session {id} is not recorded; open a session with \"record\": true \
                         (or set record = true in [terminal]) to record it"
                    ))
                })?
        }
        // A closed session: its recording may still be on disk.
        Err(ActorError::NotFound(_)) if plausible_id(&id) && principal.sessions.is_none() => {
            let file = state
                .config
                .terminal
                .recordings_dir
                .join(format!("{id}.cast"));
            if !file.is_file() {
                return Err(ApiError::NotFound(format!(
                    "no session {id} and no recording of it"
                )));
            }
            file
        }
        Err(e) => return Err(e.into()),
    };
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| ApiError::Internal(format!("cannot open {}: {e}", path.display())))?;
    let stream = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<Bytes, std::io::Error>(Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}.cast\""),
        ))
        .streaming(stream))
}

/// The route's OpenAPI 3 path item.
pub fn openapi_path_item() -> Value {
    let error = |text: &str| json!({"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}});
    json!({"get": {
        "operationId": "session_recording",
        "summary": "Download a session's recording",
        "description": "The session's recording as an asciinema v2 file (a JSON header line, then one \
            [seconds, \"o\"|\"r\"|\"m\", data] event per line: output, resize, marker). Only sessions \
            opened with \"record\": true (or under [terminal] record = true) are recorded; \
            session_list shows each session's `recording`. The recording of an open session is \
            flushed first; a closed session's recording is still served by id. A recording stops \
            with a marker event at the size limit ([terminal] max_recording_bytes).",
        "tags": ["sessions"],
        "parameters": [{
            "in": "path",
            "name": "id",
            "required": true,
            "description": "The `session_id` of the session.",
            "schema": {"type": "string"}
        }],
        "responses": {
            "200": {"description": "The recording.", "content": {CONTENT_TYPE: {"schema": {"type": "string"}}}},
            "400": error("Invalid input."),
            "401": error("Missing or wrong bearer token."),
            "403": error("Refused: Origin/Host not allowed, or the token may not use this session."),
            "404": error("No such session, or it is not recorded."),
            "429": error("A limit was reached (rate); retry later."),
            "503": error("The terminal subsystem is restarting; retry in a moment.")
        },
        "security": [{"bearer": []}]
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_session_shaped_ids_are_looked_up_on_disk() {
        assert!(plausible_id("s_0123abcd"));
        for bad in [
            "",
            "s_",
            "../etc/passwd",
            "s_../x",
            "s_12/34",
            "x_12",
            "s_zz",
        ] {
            assert!(!plausible_id(bad), "{bad}");
        }
    }
}
