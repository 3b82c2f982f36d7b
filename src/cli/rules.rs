//! `tokenwarden rules list|check`, and the rule flags every scanning command takes.

use super::output::print_generated;
use anyhow::Result;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tokenwarden::engine::check_rules;
use tokenwarden::policy::{RuleChoice, assemble_rules};
use tokenwarden::repo_config::Config;
use tokenwarden::rules::RuleSet;
use tokenwarden::text::printable;

#[derive(Subcommand)]
pub(crate) enum RulesCommand {
    /// Print the rule catalogue.
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: ListFormat,
    },
    /// Run every rule against its examples and negative examples.
    Check {
        #[command(flatten)]
        rules: RuleArgs,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ListFormat {
    Text,
    Json,
}

#[derive(Args, Clone, Default)]
pub(crate) struct RuleArgs {
    /// Add a tokenwarden rule file (TOML); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub(crate) rule_files: Vec<PathBuf>,
    /// Import a gitleaks/Betterleaks rule file (TOML); repeatable.
    #[arg(long = "rules-from", value_name = "FILE")]
    pub(crate) gitleaks: Vec<PathBuf>,
    /// Turn a rule off (`id` or `family.*`); repeatable.
    #[arg(long = "disable-rule", value_name = "ID")]
    pub(crate) disable: Vec<String>,
    /// Run only these rules (`id` or `family.*`); repeatable.
    #[arg(long = "only-rule", value_name = "ID")]
    pub(crate) only: Vec<String>,
}

/// Builds the rule set from built-ins, the config and the flags; what an import could not
/// carry over is said on stderr.
pub(crate) fn load_rules(
    args: &RuleArgs,
    config: Option<&Config>,
    notes: &mut Vec<String>,
) -> Result<RuleSet> {
    let assembled = assemble_rules(&args.choice(), config, notes)?;
    for (file, note) in &assembled.import_notes {
        eprintln!(
            "tokenwarden: note: {}: {}",
            printable(&file.display().to_string()),
            printable(note)
        );
    }
    Ok(assembled.set)
}

impl RuleArgs {
    /// The library's view of these flags.
    pub(crate) fn choice(&self) -> RuleChoice {
        RuleChoice {
            files: self.rule_files.clone(),
            gitleaks: self.gitleaks.clone(),
            disable: self.disable.clone(),
            only: self.only.clone(),
        }
    }
}

/// `tokenwarden rules …`.
pub(crate) fn run(cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { rules, format } => list_rules(&rules, format),
        RulesCommand::Check { rules } => check(&rules),
    }
}

pub(crate) fn list_rules(args: &RuleArgs, format: ListFormat) -> Result<ExitCode> {
    let set = load_rules(args, None, &mut Vec::new())?;
    let mut out: Vec<u8> = Vec::new();
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &set.rules)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            writeln!(
                out,
                "{:<28} {:<9} {:<7} {:<10} NAME",
                "ID", "SEVERITY", "CONF", "FACILITY"
            )?;
            for r in &set.rules {
                writeln!(
                    out,
                    "{:<28} {:<9} {:<7} {:<10} {}",
                    printable(&r.id),
                    r.severity.as_str(),
                    r.confidence.as_str(),
                    printable(&r.facility),
                    printable(&r.name)
                )?;
            }
            writeln!(out, "{} rules", set.rules.len())?;
        }
    }
    print_generated(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check(args: &RuleArgs) -> Result<ExitCode> {
    let set = load_rules(args, None, &mut Vec::new())?;
    let (failures, ran) = check_rules(&set)?;
    for f in &failures {
        outln!(
            "FAIL {}: {}: {}",
            printable(&f.rule),
            printable(&f.message),
            printable(&f.example)
        );
    }
    outln!(
        "{} rules, {} examples: {} passed, {} failed",
        set.rules.len(),
        ran,
        ran - failures.len(),
        failures.len()
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
