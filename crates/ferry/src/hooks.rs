//! Running the operator's hooks (see `project::hook` for what they are and
//! how they are declared): each with its environment and timeout, its
//! output redacted before it is kept anywhere.

use std::path::Path;

pub use crate::project::hook::{DEFAULT_TIMEOUT, Hook, Run, When};
pub use crate::records::hook::HookRun;

/// Runs `hook` with `env` added to ferry's environment, in `dir` when
/// given (else where ferry runs). Its output goes through `redact` before
/// it is kept anywhere.
pub fn run(hook: &Hook, env: &[(String, String)], dir: Option<&Path>, redact: &dyn Fn(&str) -> String) -> HookRun {
    let mut cmd = hook.run.command();
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    match crate::process::run_timed(cmd, &hook.name, hook.timeout) {
        Ok(ran) => {
            let (ok, ended) = match ran.status {
                Some(s) if s.success() => (true, "exit status 0".to_owned()),
                Some(s) => (false, crate::process::describe(s)),
                None => (
                    false,
                    format!(
                        "did not finish within its timeout of {}, and was killed",
                        humantime::format_duration(hook.timeout)
                    ),
                ),
            };
            HookRun {
                name: hook.name.clone(),
                when: hook.when,
                ok,
                ended,
                output: redact(&ran.output),
                ms: ran.elapsed.as_millis() as u64,
            }
        }
        Err(e) => HookRun {
            name: hook.name.clone(),
            when: hook.when,
            ok: false,
            ended: redact(&e.to_string()),
            output: String::new(),
            ms: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_runs_with_its_environment_and_is_redacted() {
        let h = Hook {
            name: "echo".into(),
            when: When::Before,
            run: Run::Shell("echo to=$FERRY_TO pw=hunter2; exit 4".into()),
            timeout: DEFAULT_TIMEOUT,
            source: "ferry.toml".into(),
            line: 1,
        };
        let ran = run(&h, &[("FERRY_TO".into(), "2.0.0".into())], None, &|s| {
            s.replace("hunter2", "****")
        });
        assert!(!ran.ok);
        assert_eq!(ran.ended, "exit status 4");
        assert!(ran.output.contains("to=2.0.0 pw=****"), "{}", ran.output);
    }
}
