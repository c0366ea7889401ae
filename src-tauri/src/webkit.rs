//! How WebKit runs this app's one page: set up before any of WebKit starts.
//!
//! The page is forms and a table that stay open for a twelve-hour shift. WebKit's defaults are a
//! browser's, and here they only cost memory (measured with `scripts/bench-app.sh`):
//! - no GPU compositing, from the page's first frame: every `WebKitSettings` is created with
//!   hardware acceleration off (switching it off once the window exists left the web process
//!   6 MB larger at login);
//! - the script runs in JavaScriptCore's interpreter (`JSC_useJIT=0`): the UI's work per search
//!   or save is a few milliseconds either way, and compiled code is memory held all shift;
//! - the web process has a memory budget ([`BUDGET_MB`]): every [`POLL_SECONDS`] it checks its
//!   own footprint and, past a share of the budget, collects garbage and drops caches it can
//!   rebuild. WebKit's default budget is a share of the machine's memory (gigabytes), so the
//!   page would otherwise keep all it ever touched;
//! - WebKit's browsing caches (pages kept for back and forward, resources kept for revisits)
//!   are off ([`lighten`]).
//!
//! The budget and the settings are properties WebKit only takes when the object is created,
//! and Tauri creates both; so the two classes' construction is wrapped ([`install`]) to supply
//! them. An administrator can still set `JSC_useJIT=1` in the environment.

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

type Constructor = unsafe extern "C" fn(GType, u32, *mut GObjectConstructParam) -> *mut GObject;
type Constructed = unsafe extern "C" fn(*mut GObject);

static CONTEXT_CONSTRUCTOR: OnceLock<Constructor> = OnceLock::new();
static SETTINGS_CONSTRUCTED: OnceLock<Constructed> = OnceLock::new();
/// WebKit's memory settings: built once, never freed, afterwards only copied by WebKit.
static BUDGET: OnceLock<usize> = OnceLock::new();
/// The web context's "memory-pressure-settings" property (its GParamSpec), looked up once.
static BUDGET_PROPERTY: OnceLock<usize> = OnceLock::new();

/// Sets the script engine's mode for the web process WebKit will start and wraps the
/// construction of WebKit's web context and settings (see the module's text). Call first in
/// `main`, before any thread or window exists; later calls do nothing.
pub fn install() {
    if std::env::var_os("JSC_useJIT").is_none() {
        std::env::set_var("JSC_useJIT", "0");
    }
    // SAFETY: plain C calls on a settings object owned here. Each class is referenced for the
    // life of the process (never unreferenced), and its slot is replaced once, on the main
    // thread, before any instance exists; each replacement chains to the original.
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
        let settings = class(ffi::webkit_settings_get_type());
        if let Some(original) = (*settings).constructed {
            if SETTINGS_CONSTRUCTED.set(original).is_ok() {
                (*settings).constructed = Some(settings_constructed);
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

/// After WebKit has built a settings object: hardware acceleration off.
unsafe extern "C" fn settings_constructed(object: *mut GObject) {
    if let Some(original) = SETTINGS_CONSTRUCTED.get() {
        original(object);
    }
    ffi::webkit_settings_set_hardware_acceleration_policy(
        object as *mut ffi::WebKitSettings,
        ffi::WEBKIT_HARDWARE_ACCELERATION_POLICY_NEVER,
    );
}

/// Turns off WebKit's browsing caches for the app's window.
pub fn lighten(app: &tauri::App) {
    use tauri::Manager;
    use webkit2gtk::{CacheModel, WebContextExt, WebViewExt};
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.with_webview(|webview| {
            if let Some(context) = webview.inner().context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
    }
}
