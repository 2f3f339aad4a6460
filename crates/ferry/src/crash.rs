//! Crash points: how the tests stop ferry at an exact place, as a kill
//! would (abort, no clean-up), to prove that what a kill leaves behind is
//! resumed or rolled back. Debug builds only; release builds compile every
//! point to nothing.
//!
//! | variable | where it stops |
//! | --- | --- |
//! | `FERRY_TEST_CRASH_AT=N` | an upgrade run, right after its journal's record N is on disk |
//! | `FERRY_TEST_CRASH_INSIDE=N` | the step journal record N started, its work done, before the journal says so |
//! | `FERRY_TEST_CRASH_IN_BATCH=N` | a batched migration after batch N ran, before it commits |
//! | `FERRY_TEST_CRASH_AFTER_BATCH=N` | a batched migration right after batch N commits |
//! | `FERRY_TEST_CRASH_AFTER_ROUND=N` | the watch window after round N is recorded |
//! | `FERRY_TEST_CRASH_AFTER_RENAMES=N` | a config migration after N files were renamed into place |
//! | `FERRY_TEST_CRASH_RESTORE=POINT` | a restore (or a streamed backup) at a named point |
//! | `FERRY_TEST_CRASH_TRANSFER=TABLE` | a transfer after TABLE was copied |

/// Stops the process when the variable `var` is set to `at` (compared as
/// text: a number's digits, or a point's name).
#[inline]
pub fn point(var: &str, at: impl std::fmt::Display) {
    #[cfg(debug_assertions)]
    if std::env::var(var).is_ok_and(|v| v == at.to_string()) {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = (var, at);
}
