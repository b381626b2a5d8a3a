//! Deleting the packages pruned versions leave behind.

use super::{S3, S3Object};
use crate::aws::{AwsError, ErrorKind};

impl S3 {
    /// Deletes `obj` (every S3 version of it is left to the bucket's lifecycle rules);
    /// an object that is already gone is fine.
    pub async fn delete(&self, obj: &S3Object) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(&obj.bucket)
            .key(&obj.key)
            .set_expected_bucket_owner(self.owner())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk("DeleteObject", &obj.uri(), e, |_| ErrorKind::Other))
    }
}
