//! HTTP calls to the gateway (same origin as the frame): launch and uploads.

use consult_sdk::protocol::{Body, ErrorBody, LaunchRequest, LaunchResponse, MAX_FILE_BYTES, MAX_IMAGE_BYTES};
use crate::json::{FromJson, Json, ToJson};
use crate::text::{cat, number, push_u64};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, RequestInit, Response};

/// `POST /v1/uploads` answer.
struct Uploaded {
    attachment: String,
    mime: String,
    size: u64,
    name: String,
}

impl FromJson for Uploaded {
    fn from_json(j: &Json) -> Option<Self> {
        Some(Uploaded { attachment: j.string("attachment")?, mime: j.string("mime")?, size: j.u64("size")?, name: j.string("name")? })
    }
}

fn network_error(e: JsValue) -> ErrorBody {
    let detail = e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()));
    ErrorBody { code: "network".into(), message: detail.unwrap_or_else(|| "the gateway could not be reached".into()) }
}

/// The body of a successful answer; the gateway's error body (or `network`) otherwise. Not
/// generic, so the fetching is in the wasm once for both calls.
async fn fetch_text(url: &str, init: &RequestInit) -> Result<String, ErrorBody> {
    let window = web_sys::window().ok_or_else(|| network_error(JsValue::from_str("no window")))?;
    let response: Response =
        JsFuture::from(window.fetch_with_str_and_init(url, init)).await.map_err(network_error)?.unchecked_into();
    let text = JsFuture::from(response.text().map_err(network_error)?).await.map_err(network_error)?;
    let text = text.as_string().unwrap_or_default();
    if response.ok() {
        Ok(text)
    } else {
        Err(ErrorBody::from_json_str(&text).unwrap_or_else(|| {
            let mut message = String::from("the gateway answered HTTP ");
            push_u64(&mut message, u64::from(response.status()));
            ErrorBody { code: "http_status".into(), message }
        }))
    }
}

/// A successful answer read as `T`.
fn read_answer<T: FromJson>(text: &str) -> Result<T, ErrorBody> {
    T::from_json_str(text).ok_or_else(|| ErrorBody {
        code: "bad_response".into(),
        message: "the gateway's answer is not what this chat expects (reload the page)".into(),
    })
}

/// `POST /v1/launch`.
///
/// # Errors
/// The gateway's error body, or `network` / `bad_response`.
pub async fn launch(request: &LaunchRequest) -> Result<LaunchResponse, ErrorBody> {
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(network_error)?;
    headers.set("content-type", "application/json").map_err(network_error)?;
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&request.to_json()));
    read_answer(&fetch_text("/v1/launch", &init).await?)
}

/// Uploads a picked file (`POST /v1/uploads?name=…`, raw body, the handle in `x-consult-session`) and returns the body to send.
///
/// # Errors
/// `too_large` before uploading anything too big, else the gateway's error.
pub async fn upload(session: &str, file: &File) -> Result<Body, ErrorBody> {
    let is_image = file.type_().starts_with("image/");
    let limit = if is_image { MAX_IMAGE_BYTES } else { MAX_FILE_BYTES };
    if file.size() > limit as f64 {
        return Err(ErrorBody {
            code: "too_large".into(),
            message: cat(&[&file.name(), " is larger than ", &number((limit / (1024 * 1024)) as u64), " MB"]),
        });
    }
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(network_error)?;
    let mime = file.type_();
    headers.set("content-type", if mime.is_empty() { "application/octet-stream" } else { &mime }).map_err(network_error)?;
    // The handle is a bearer secret: a header, never the URL.
    headers.set("x-consult-session", session).map_err(network_error)?;
    init.set_headers(&headers);
    init.set_body(file);
    let url = cat(&["/v1/uploads?name=", &consult_sdk::launch::encode_component(&file.name())]);
    let up: Uploaded = read_answer(&fetch_text(&url, &init).await?)?;
    Ok(if up.mime.starts_with("image/") {
        Body::Image { attachment: up.attachment, mime: up.mime, size: up.size }
    } else {
        Body::File { attachment: up.attachment, name: up.name, mime: up.mime, size: up.size }
    })
}
