//! An in-memory Lambda for the history use cases' tests: pages like Lambda does, takes a
//! little time per call, and counts what was called and how many calls ran at once.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::aws::AwsError;
use crate::aws::history::{
    Account, AliasRow, FunctionRow, History, Latest, Leftovers, Page, VersionImage, VersionRow,
};
use crate::aws::layer::LayerVersionRow;

pub struct Fake {
    pub versions: RefCell<BTreeMap<u64, VersionRow>>,
    pub aliases: Vec<AliasRow>,
    pub provisioned: Vec<String>,
    pub mapped: Vec<String>,
    /// Items per page (Lambda's default for versions is 50).
    pub page: usize,
    /// Time each call takes.
    pub latency: Duration,
    pub pages_read: Cell<usize>,
    pub deletes: Cell<usize>,
    in_flight: Cell<usize>,
    /// The most deletes that ran at the same time.
    pub most_in_flight: Cell<usize>,
    /// `$LATEST`'s layer version ARNs.
    pub latest_layers: Vec<String>,
    /// The image each qualifier (version number or `$LATEST`) runs.
    pub images: BTreeMap<String, VersionImage>,
    /// The registry: (registry id, repository, digest) of every image.
    pub registry: RefCell<BTreeSet<(String, String, String)>>,
    /// Every layer's versions.
    pub layer_versions: RefCell<BTreeMap<String, Vec<LayerVersionRow>>>,
    /// Layers listed, in order.
    pub layers_listed: RefCell<Vec<String>>,
    /// The account's functions and their versions (this one's too), as ListFunctions
    /// lists them with every version.
    pub functions: Vec<FunctionRow>,
    /// The image each `name:qualifier` of another function runs.
    pub function_images: BTreeMap<String, VersionImage>,
    /// Pages of functions read.
    pub functions_listed: Cell<usize>,
    /// Versions of other functions read for the image they run.
    pub images_read: Cell<usize>,
}

impl Fake {
    /// A function with versions `1..=n`, each with its own package.
    pub(crate) fn with_versions(n: u64) -> Self {
        let versions = (1..=n)
            .map(|i| {
                let row = VersionRow {
                    version: i.to_string(),
                    description: format!(
                        "main @ {i:07x} · https://github.com/o/r/actions/runs/{i}"
                    ),
                    code_sha256: format!("sha{i}"),
                    code_size: 1000,
                    last_modified: "2026-01-01T00:00:00.000+0000".into(),
                    layers: Vec::new(),
                    image: false,
                };
                (i, row)
            })
            .collect();
        Self {
            versions: RefCell::new(versions),
            aliases: Vec::new(),
            provisioned: Vec::new(),
            mapped: Vec::new(),
            page: 50,
            latency: Duration::from_millis(2),
            pages_read: Cell::new(0),
            deletes: Cell::new(0),
            in_flight: Cell::new(0),
            most_in_flight: Cell::new(0),
            latest_layers: Vec::new(),
            images: BTreeMap::new(),
            registry: RefCell::new(BTreeSet::new()),
            layer_versions: RefCell::new(BTreeMap::new()),
            layers_listed: RefCell::new(Vec::new()),
            functions: Vec::new(),
            function_images: BTreeMap::new(),
            functions_listed: Cell::new(0),
            images_read: Cell::new(0),
        }
    }

    pub(crate) fn remaining(&self) -> Vec<String> {
        self.versions
            .borrow()
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    async fn call(&self) {
        tokio::time::sleep(self.latency).await;
    }

    fn page_of<T: Clone>(&self, items: &[T], marker: Option<String>) -> Page<T> {
        self.pages_read.set(self.pages_read.get() + 1);
        let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
        let end = (start + self.page).min(items.len());
        Page {
            items: items[start.min(end)..end].to_vec(),
            next: (end < items.len()).then(|| end.to_string()),
        }
    }
}

impl History for Fake {
    async fn latest(&self) -> Result<Option<Latest>, AwsError> {
        self.call().await;
        Ok(Some(Latest {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:fake".into(),
            code_sha256: "latest".into(),
            layers: self.latest_layers.clone(),
        }))
    }

    async fn versions_page(&self, marker: Option<String>) -> Result<Page<VersionRow>, AwsError> {
        self.call().await;
        let all: Vec<VersionRow> = self.versions.borrow().values().cloned().collect();
        Ok(self.page_of(&all, marker))
    }

    async fn aliases_page(&self, marker: Option<String>) -> Result<Page<AliasRow>, AwsError> {
        self.call().await;
        Ok(self.page_of(&self.aliases, marker))
    }

    async fn provisioned_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError> {
        self.call().await;
        Ok(self.page_of(&self.provisioned, marker))
    }

    async fn mapped_page(&self, marker: Option<String>) -> Result<Page<String>, AwsError> {
        self.call().await;
        Ok(self.page_of(&self.mapped, marker))
    }

    async fn delete_version(&self, version: &str) -> Result<(), AwsError> {
        self.in_flight.set(self.in_flight.get() + 1);
        self.most_in_flight
            .set(self.most_in_flight.get().max(self.in_flight.get()));
        self.call().await;
        self.in_flight.set(self.in_flight.get() - 1);
        self.deletes.set(self.deletes.get() + 1);
        if let Ok(n) = version.parse::<u64>() {
            self.versions.borrow_mut().remove(&n);
        }
        Ok(())
    }

    async fn image_of(&self, qualifier: &str) -> Result<Option<VersionImage>, AwsError> {
        self.call().await;
        Ok(self.images.get(qualifier).cloned())
    }
}

impl Account for Fake {
    async fn functions_page(
        &self,
        every_version: bool,
        marker: Option<String>,
    ) -> Result<Page<FunctionRow>, AwsError> {
        self.call().await;
        self.functions_listed.set(self.functions_listed.get() + 1);
        let rows: Vec<FunctionRow> = self
            .functions
            .iter()
            .filter(|f| every_version || f.version == "$LATEST")
            .cloned()
            .collect();
        Ok(self.page_of(&rows, marker))
    }

    async fn function_image(
        &self,
        function: &str,
        qualifier: &str,
    ) -> Result<Option<VersionImage>, AwsError> {
        self.images_read.set(self.images_read.get() + 1);
        self.call().await;
        Ok(self
            .function_images
            .get(&format!("{function}:{qualifier}"))
            .cloned())
    }
}

impl Leftovers for Fake {
    async fn layer_versions_page(
        &self,
        name: &str,
        marker: Option<String>,
    ) -> Result<Page<LayerVersionRow>, AwsError> {
        self.call().await;
        self.layers_listed.borrow_mut().push(name.to_string());
        let all = self
            .layer_versions
            .borrow()
            .get(name)
            .cloned()
            .unwrap_or_default();
        Ok(self.page_of(&all, marker))
    }

    async fn delete_layer_version(&self, name: &str, version: i64) -> Result<(), AwsError> {
        self.call().await;
        if let Some(v) = self.layer_versions.borrow_mut().get_mut(name) {
            v.retain(|l| l.version != version);
        }
        Ok(())
    }

    async fn delete_images(
        &self,
        registry_id: &str,
        repository: &str,
        digests: &[String],
    ) -> Result<Vec<String>, AwsError> {
        self.call().await;
        let mut registry = self.registry.borrow_mut();
        for d in digests {
            registry.remove(&(registry_id.into(), repository.into(), d.clone()));
        }
        Ok(digests.to_vec())
    }
}
