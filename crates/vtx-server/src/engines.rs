//! A pool of engines over one index: each request borrows one on a blocking thread.

use std::sync::{Arc, Mutex};

use vtx::{Engine, EngineConfig};

use crate::error::{ApiError, ServeError};

pub(crate) struct Engines {
    idle: Arc<Mutex<Vec<Engine>>>,
    permits: tokio::sync::Semaphore,
}

impl Engines {
    pub(crate) fn open(config: &EngineConfig, count: usize) -> Result<Self, ServeError> {
        let engines = (0..count)
            .map(|_| Engine::open_existing(config.clone()))
            .collect::<vtx::Result<Vec<_>>>()
            .map_err(ServeError::Engine)?;
        Ok(Self {
            idle: Arc::new(Mutex::new(engines)),
            permits: tokio::sync::Semaphore::new(count),
        })
    }

    /// Run `job` on an idle engine, off the async threads. A panic in `job` is a 500 and the
    /// engine goes back to the pool (its caches hold only loaded models).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Engine) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        let idle = self.idle.clone();
        tokio::task::spawn_blocking(move || {
            let mut engine = idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop()
                .expect("a permit guarantees an idle engine");
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut engine)));
            idle.lock().unwrap_or_else(|p| p.into_inner()).push(engine);
            result.unwrap_or_else(|_| Err(ApiError::internal("the request failed unexpectedly")))
        })
        .await
        .map_err(|e| ApiError::internal(&format!("worker: {e}")))?
    }
}
