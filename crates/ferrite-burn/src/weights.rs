//! burn networks to and from the weights bytes of a model bundle (safetensors under burn's
//! module paths, the file both engines read).

use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;

use ferrite_model::ArchSpec;

use crate::FerNet;

/// Builds `arch` on `device` with the weights in `bytes` (a `model.safetensors` file's
/// content). Fails, saying what differs, when the weights do not match the architecture.
pub fn load_net(arch: &ArchSpec, bytes: &[u8], device: &Device) -> Result<FerNet, String> {
    let mut net = FerNet::new(arch, device);
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec())).validate(true);
    let result = net
        .load_from(&mut store)
        .map_err(|e| format!("does not match architecture `{}`: {e}", arch.name))?;
    if !result.errors.is_empty() || !result.missing.is_empty() {
        return Err(format!(
            "does not match architecture `{}`: {} errors {:?}, missing {:?}",
            arch.name,
            result.errors.len(),
            result.errors.iter().take(3).collect::<Vec<_>>(),
            result.missing.iter().take(3).collect::<Vec<_>>()
        ));
    }
    Ok(net)
}

/// The weights of `net` as a `model.safetensors` file's content.
pub fn net_to_safetensors(net: &FerNet) -> Result<Vec<u8>, String> {
    let mut store = SafetensorsStore::from_bytes(None);
    net.save_into(&mut store).map_err(|e| e.to_string())?;
    store.get_bytes().map_err(|e| e.to_string())
}
