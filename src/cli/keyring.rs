//! `tokenwarden keyring set|delete NAME`: put a credential in the OS keyring (read from a
//! prompt or stdin, never argv), so that `--token-from keyring:NAME` can use it.

use anyhow::Result;
use clap::{Args, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;
use tokenwarden::facilities::credential::{self, CredentialSource};

/// Keyring subcommands.
#[derive(Args, Debug)]
pub struct KeyringArgs {
    #[command(subcommand)]
    command: KeyringCommand,
}

#[derive(Subcommand, Debug)]
enum KeyringCommand {
    /// Store a credential under NAME (asked for on the terminal, or read from stdin).
    Set {
        /// The name to store it under (e.g. s3m, palmetto).
        name: String,
    },
    /// Remove the credential stored under NAME.
    Delete {
        /// The name.
        name: String,
    },
}

/// Runs a keyring subcommand.
pub fn run(args: KeyringArgs) -> Result<ExitCode> {
    match args.command {
        KeyringCommand::Set { name } => {
            let src = if std::io::stdin().is_terminal() {
                CredentialSource::Prompt
            } else {
                CredentialSource::Stdin
            };
            let loaded = src.load(&format!("credential to store as {name:?}"))?;
            credential::keyring_set(&name, &loaded.token)?;
            eprintln!("stored {} as keyring:{name}", loaded.token.preview());
            Ok(ExitCode::SUCCESS)
        }
        KeyringCommand::Delete { name } => {
            if credential::keyring_delete(&name)? {
                eprintln!("removed keyring:{name}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("nothing stored as keyring:{name}");
                Ok(ExitCode::from(1))
            }
        }
    }
}
