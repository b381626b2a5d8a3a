//! Conversions between the SDK's Lambda enums and the domain's: the only place the two meet.

use aws_sdk_lambda::types as sdk;

use crate::domain::kind::{Architecture, PackageType};
use crate::state::{FunctionState, LastUpdateStatus};

pub(crate) fn to_sdk_arch(a: Architecture) -> sdk::Architecture {
    match a {
        Architecture::X86_64 => sdk::Architecture::X8664,
        Architecture::Arm64 => sdk::Architecture::Arm64,
    }
}

/// `None` for a name this version of lambda-deploy does not know.
pub(crate) fn from_sdk_arch(a: &sdk::Architecture) -> Option<Architecture> {
    match a {
        sdk::Architecture::X8664 => Some(Architecture::X86_64),
        sdk::Architecture::Arm64 => Some(Architecture::Arm64),
        _ => None,
    }
}

/// A function without a package type is a zip function (Lambda's default).
pub(crate) fn from_sdk_package_type(p: Option<&sdk::PackageType>) -> PackageType {
    match p {
        Some(sdk::PackageType::Image) => PackageType::Image,
        _ => PackageType::Zip,
    }
}

pub(crate) fn from_sdk_state(s: &sdk::State) -> Option<FunctionState> {
    match s {
        sdk::State::Pending => Some(FunctionState::Pending),
        sdk::State::Active => Some(FunctionState::Active),
        sdk::State::Inactive => Some(FunctionState::Inactive),
        sdk::State::Failed => Some(FunctionState::Failed),
        _ => None,
    }
}

pub(crate) fn from_sdk_update_status(s: &sdk::LastUpdateStatus) -> Option<LastUpdateStatus> {
    match s {
        sdk::LastUpdateStatus::InProgress => Some(LastUpdateStatus::InProgress),
        sdk::LastUpdateStatus::Successful => Some(LastUpdateStatus::Successful),
        sdk::LastUpdateStatus::Failed => Some(LastUpdateStatus::Failed),
        _ => None,
    }
}
