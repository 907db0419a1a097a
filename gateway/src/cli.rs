//! The sdk's commands: keygen, sign, verify, qr (being written).
use clap::Args;
#[derive(Args)] pub struct KeygenArgs {}
#[derive(Args)] pub struct SignArgs {}
#[derive(Args)] pub struct VerifyArgs {}
#[derive(Args)] pub struct QrArgs {}
pub fn keygen(_: KeygenArgs) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
pub fn sign(_: SignArgs) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
pub fn verify(_: VerifyArgs) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
pub fn qr(_: QrArgs) -> anyhow::Result<()> { anyhow::bail!("not built yet") }
