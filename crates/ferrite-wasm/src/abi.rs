//! The module's exports, for `assets/private/worker.js`. WebAssembly functions pass numbers
//! only, so bytes travel through two buffers the module owns: the page asks for an input
//! buffer of a size (`ferrite_input`), writes into it at the pointer it gets, calls a
//! function, and reads the answer (UTF-8 JSON) at `ferrite_output_ptr` / `ferrite_output_len`.
//! Every call returns 0 on success; otherwise 1, and the output holds `{"error": ...}`
//! (`ferrite_predict` returns 2 with `{"needs_pixels": FORMAT}` for a format the module does
//! not decode, for `ferrite_predict_pixels`).
//! One page, one thread: the state is a thread-local.

use std::cell::RefCell;

use serde::Serialize;

use ferrite_infer::Tta;

use crate::{Photo, PrivateMode};

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static STATE: RefCell<Option<PrivateMode>> = const { RefCell::new(None) };
}

/// Makes the input buffer `len` bytes long and returns where to write them.
#[no_mangle]
pub extern "C" fn ferrite_input(len: usize) -> *mut u8 {
    INPUT.with_borrow_mut(|input| {
        input.clear();
        input.resize(len, 0);
        input.as_mut_ptr()
    })
}

/// Where the last answer starts.
#[no_mangle]
pub extern "C" fn ferrite_output_ptr() -> *const u8 {
    OUTPUT.with_borrow(|output| output.as_ptr())
}

/// The last answer's length in bytes.
#[no_mangle]
pub extern "C" fn ferrite_output_len() -> usize {
    OUTPUT.with_borrow(|output| output.len())
}

/// Loads the model: the input holds the card's `card_len` bytes, then the weights.
#[no_mangle]
pub extern "C" fn ferrite_load(card_len: usize) -> u32 {
    crate::enable_simd();
    let loaded = INPUT.with_borrow(|input| {
        if card_len > input.len() {
            return Err(format!("card length {card_len} > input {}", input.len()));
        }
        let (card, weights) = input.split_at(card_len);
        PrivateMode::load(card, weights)
    });
    answer(loaded.map(|mode| {
        STATE.with_borrow_mut(|state| *state = Some(mode));
        serde_json::json!({ "loaded": true })
    }))
}

/// The test-time augmentation a page's `tta` argument names: 0 none, 1 the mirror image,
/// 2 ten crops, 3 zoom (other values: the mirror image, as any non-zero value meant before
/// crops).
fn tta_of(code: u32) -> Tta {
    match code {
        0 => Tta::Off,
        2 => Tta::Crops,
        3 => Tta::Zoom,
        _ => Tta::Flip,
    }
}

/// Predicts one photo: the input holds the file name's `name_len` bytes, then the photo's.
/// The answer is the photo's report (with its `error` if it could not be read).
#[no_mangle]
pub extern "C" fn ferrite_predict(name_len: usize, tta: u32) -> u32 {
    let photo = with_named_input(name_len, |mode, name, bytes| {
        Ok(mode.predict(name, bytes, tta_of(tta)))
    });
    match photo {
        Ok(Photo::Report(report)) => answer(Ok(report)),
        Ok(Photo::NeedsPixels(format)) => {
            answer(Ok(serde_json::json!({ "needs_pixels": format })));
            2
        }
        Err(e) => answer::<()>(Err(e)),
    }
}

/// Predicts a photo the page decoded: the input holds the file name's `name_len` bytes, then
/// `width` x `height` RGBA pixels.
#[no_mangle]
pub extern "C" fn ferrite_predict_pixels(
    name_len: usize,
    width: u32,
    height: u32,
    tta: u32,
) -> u32 {
    let report = with_named_input(name_len, |mode, name, rgba| {
        mode.predict_pixels(name, rgba, width, height, tta_of(tta))
    });
    answer(report)
}

/// Starts a camera session whose faces are at least `min_face` pixels wide.
#[no_mangle]
pub extern "C" fn ferrite_live_start(min_face: u32) -> u32 {
    let started = with_state(|mode| mode.live_start(min_face));
    answer(started.map(|()| serde_json::json!({ "started": true })))
}

/// The session's next frame: the input holds `width` x `height` RGBA pixels.
#[no_mangle]
pub extern "C" fn ferrite_live_frame(width: u32, height: u32, time_s: f64) -> u32 {
    let report =
        with_state(|mode| INPUT.with_borrow(|input| mode.live_frame(input, width, height, time_s)));
    answer(report)
}

/// Runs `f` on the state with the input split into a name of `name_len` bytes and the rest.
fn with_named_input<T>(
    name_len: usize,
    f: impl FnOnce(&mut PrivateMode, &str, &[u8]) -> Result<T, String>,
) -> Result<T, String> {
    with_state(|mode| {
        INPUT.with_borrow(|input| {
            if name_len > input.len() {
                return Err(format!("name length {name_len} > input {}", input.len()));
            }
            let (name, bytes) = input.split_at(name_len);
            f(mode, &String::from_utf8_lossy(name), bytes)
        })
    })
}

fn with_state<T>(f: impl FnOnce(&mut PrivateMode) -> Result<T, String>) -> Result<T, String> {
    STATE.with_borrow_mut(|state| match state.as_mut() {
        Some(mode) => f(mode),
        None => Err("the model is not loaded".into()),
    })
}

/// Writes `value` (or the error) as the answer.
fn answer<T: Serialize>(value: Result<T, String>) -> u32 {
    let (json, code) = match value {
        Ok(v) => (serde_json::to_vec(&v), 0),
        Err(e) => (serde_json::to_vec(&serde_json::json!({ "error": e })), 1),
    };
    let json = json.unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}").into_bytes());
    OUTPUT.with_borrow_mut(|output| *output = json);
    code
}
