//! How WebKit runs this app's one page: set up before any of GTK or WebKit starts.
//!
//! The page is forms and a table that stay open for a twelve-hour shift. WebKit's defaults are a
//! browser's, and here they only cost memory (measured with `scripts/bench-app.sh`):
//! - no OpenGL anywhere but the web process ([`ENVIRONMENT`]). GTK draws the window without GL,
//!   and WebKit paints the page into shared memory that GTK draws, with no GPU compositing. Left
//!   to itself, WebKit opens an EGL display in the app's own process just to look for a GPU
//!   buffer path, and with Mesa that loads the driver and LLVM: 28 MB of the app's process;
//! - the script runs in JavaScriptCore's interpreter (`JSC_useJIT=0`): the UI's work per search
//!   or save is a few milliseconds either way, and compiled code is memory held all shift;
//! - the web process has a memory budget ([`BUDGET_MB`]): every [`POLL_SECONDS`] it checks its
//!   own footprint and, past a share of the budget, collects garbage and drops caches it can
//!   rebuild. WebKit's default budget is a share of the machine's memory (gigabytes), so the
//!   page would otherwise keep all it ever touched;
//! - WebKit's browsing caches (pages kept for back and forward, resources kept for revisits)
//!   are off ([`configure`]).
//!
//! The budget is a property WebKit only takes when its web context is created, and Tauri
//! creates that; so the context's construction is wrapped ([`install`]) to supply it. A
//! variable of [`ENVIRONMENT`] that is already set is left as it is, so an administrator can
//! still choose otherwise (e.g. `JSC_useJIT=1`).

#![allow(unsafe_code)]

use std::sync::OnceLock;
use webkit2gtk::ffi;
use webkit2gtk::glib::ffi::GType;
use webkit2gtk::glib::gobject_ffi::{self, GObject, GObjectClass, GObjectConstructParam};

/// The web process's memory budget, MB. Its footprint (private memory) is 7.5 MB on the login
/// screen; a long session of searches and registrations adds tens of MB.
pub const BUDGET_MB: u32 = 100;
/// Past this share of the budget the web process frees what is cheap to rebuild (garbage,
/// unused fonts and styles).
pub const CONSERVATIVE: f64 = 0.33;
/// Past this share it frees harder: caches it would otherwise keep, and garbage collected at once.
pub const STRICT: f64 = 0.5;
/// How often the web process checks its footprint, seconds.
pub const POLL_SECONDS: f64 = 10.0;

/// What the app sets in its environment (unless already set) before GTK and WebKit read it.
pub const ENVIRONMENT: [(&str, &str); 4] = [
    // JavaScriptCore: the interpreter only.
    ("JSC_useJIT", "0"),
    // GTK draws the window without OpenGL; WebKit then composites nothing on the GPU.
    ("GDK_GL", "disable"),
    // WebKit's page reaches GTK through shared memory, not GPU buffers.
    ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    // A render device that does not exist: WebKit's app process then looks for none, which it
    // would otherwise do by opening an EGL display.
    ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/nonexistent"),
];

type Constructor = unsafe extern "C" fn(GType, u32, *mut GObjectConstructParam) -> *mut GObject;

static CONTEXT_CONSTRUCTOR: OnceLock<Constructor> = OnceLock::new();
/// WebKit's memory settings: built once, never freed, afterwards only copied by WebKit.
static BUDGET: OnceLock<usize> = OnceLock::new();
/// The web context's "memory-pressure-settings" property (its GParamSpec), looked up once.
static BUDGET_PROPERTY: OnceLock<usize> = OnceLock::new();

/// Sets [`ENVIRONMENT`] and wraps the construction of WebKit's web context (see the module's
/// text). Call first in `main`, before any thread or window exists; later calls do nothing.
pub fn install() {
    for (name, value) in ENVIRONMENT {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
    // SAFETY: plain C calls on a settings object owned here. The class is referenced for the
    // life of the process (never unreferenced), and its slot is replaced once, on the main
    // thread, before any instance exists; the replacement chains to the original.
    unsafe {
        let budget = ffi::webkit_memory_pressure_settings_new();
        ffi::webkit_memory_pressure_settings_set_memory_limit(budget, BUDGET_MB);
        ffi::webkit_memory_pressure_settings_set_conservative_threshold(budget, CONSERVATIVE);
        ffi::webkit_memory_pressure_settings_set_strict_threshold(budget, STRICT);
        ffi::webkit_memory_pressure_settings_set_kill_threshold(budget, 0.0);
        ffi::webkit_memory_pressure_settings_set_poll_interval(budget, POLL_SECONDS);
        if BUDGET.set(budget as usize).is_err() {
            ffi::webkit_memory_pressure_settings_free(budget);
            return;
        }
        let context = class(ffi::webkit_web_context_get_type());
        let property = gobject_ffi::g_object_class_find_property(context, c"memory-pressure-settings".as_ptr());
        if let Some(original) = (*context).constructor.filter(|_| !property.is_null()) {
            if BUDGET_PROPERTY.set(property as usize).is_ok() && CONTEXT_CONSTRUCTOR.set(original).is_ok() {
                (*context).constructor = Some(construct_context);
            }
        }
    }
}

/// The class structure of a GObject type, referenced for good.
unsafe fn class(type_: GType) -> *mut GObjectClass {
    gobject_ffi::g_type_class_ref(type_) as *mut GObjectClass
}

/// The web context's constructor: the memory budget goes into its construct-only property
/// (unless the creator set one), then WebKit's own constructor runs.
unsafe extern "C" fn construct_context(type_: GType, n: u32, params: *mut GObjectConstructParam) -> *mut GObject {
    if let (Some(&budget), Some(&property)) = (BUDGET.get(), BUDGET_PROPERTY.get()) {
        for i in 0..n as usize {
            let param = &*params.add(i);
            if param.pspec as usize == property && gobject_ffi::g_value_get_boxed(param.value).is_null() {
                gobject_ffi::g_value_set_boxed(param.value, budget as *const _);
            }
        }
    }
    match CONTEXT_CONSTRUCTOR.get() {
        Some(original) => original(type_, n, params),
        None => std::ptr::null_mut(),
    }
}

/// Turns off WebKit's browsing caches for the app's window, and makes the page Russian
/// whatever the desktop's locale: dates and times in form fields read `27.11.2026, 00:32`.
pub fn configure(app: &tauri::App) {
    use tauri::Manager;
    use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.with_webview(|webview| {
            if let Some(context) = webview.inner().context() {
                context.set_cache_model(CacheModel::DocumentViewer);
                context.set_preferred_languages(&["ru"]);
            }
        });
    }
}
