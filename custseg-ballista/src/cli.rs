//! The binaries' command lines: `--name value` flags, each allowed once, nothing else.

use std::collections::HashMap;
use std::str::FromStr;

use ballista_core::config::TaskSchedulingPolicy;

/// Parsed `--name value` flags.
#[derive(Debug, Clone, Default)]
pub struct Flags(HashMap<String, String>);

impl Flags {
    /// Parses `args` (without the program name), accepting only the flags in `allowed`
    /// (names without the dashes).
    ///
    /// # Errors
    /// A word that is not a flag, a flag not allowed, given twice, or without a value.
    pub fn parse(args: impl IntoIterator<Item = String>, allowed: &[&str]) -> Result<Self, String> {
        let mut flags = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let name = arg
                .strip_prefix("--")
                .ok_or_else(|| format!("expected a --flag, got {arg:?}"))?;
            if !allowed.contains(&name) {
                return Err(format!(
                    "unknown flag --{name} (known: --{})",
                    allowed.join(", --")
                ));
            }
            let value = args
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            if flags.insert(name.to_string(), value).is_some() {
                return Err(format!("--{name} given twice"));
            }
        }
        Ok(Self(flags))
    }

    /// The value of `--name` read as a `T`, or `default` without it.
    ///
    /// # Errors
    /// A value that does not read as a `T`.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e| format!("--{name} {v:?}: {e}")),
        }
    }

    /// `--policy push|pull` as Ballista's task scheduling policy (push without it). The
    /// scheduler and its executors must use the same one.
    ///
    /// # Errors
    /// Another word.
    pub fn policy(&self) -> Result<TaskSchedulingPolicy, String> {
        match self.0.get("policy").map(String::as_str) {
            None | Some("push") => Ok(TaskSchedulingPolicy::PushStaged),
            Some("pull") => Ok(TaskSchedulingPolicy::PullStaged),
            Some(other) => Err(format!("--policy {other:?}: push or pull")),
        }
    }

    /// The value of `--name`, if given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::{Flags, TaskSchedulingPolicy};

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn flags_read_with_defaults_and_bad_ones_are_named() {
        let f = Flags::parse(
            args(&["--port", "7", "--host", "h"]),
            &["port", "host", "x"],
        )
        .unwrap();
        assert_eq!(f.get("port", 1u16).unwrap(), 7);
        assert_eq!(f.get("x", 3u16).unwrap(), 3);
        assert_eq!(f.text("host").as_deref(), Some("h"));
        assert!(matches!(f.policy(), Ok(TaskSchedulingPolicy::PushStaged)));
        let pull = Flags::parse(args(&["--policy", "pull"]), &["policy"]).unwrap();
        assert!(matches!(
            pull.policy(),
            Ok(TaskSchedulingPolicy::PullStaged)
        ));
        let odd = Flags::parse(args(&["--policy", "odd"]), &["policy"]).unwrap();
        assert!(odd.policy().unwrap_err().contains("push or pull"));
        assert!(f.get::<u16>("host", 0).unwrap_err().contains("--host"));
        for (bad, says) in [
            (args(&["port"]), "expected a --flag"),
            (args(&["--nope", "1"]), "unknown flag --nope"),
            (args(&["--port"]), "needs a value"),
            (args(&["--port", "1", "--port", "2"]), "given twice"),
        ] {
            assert!(Flags::parse(bad, &["port"]).unwrap_err().contains(says));
        }
    }
}
