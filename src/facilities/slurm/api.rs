//! What every Slurm REST API offers a job, however it is reached: a stock slurmrestd,
//! Palmetto's gateway (both [`SlurmClient`]) or S3M's per-resource passthrough
//! ([`crate::facilities::s3m::S3mSlurm`]). Submitting and waiting are written once, here and in
//! the CLI, against this trait.

use super::*;

/// How a job's state is polled while waiting for it to end.
#[derive(Clone, Copy, Debug)]
pub struct JobPoll {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll at this fixed interval; `None`: start at half a second and back off to ten.
    pub interval: Option<Duration>,
}

/// A Slurm REST API, as far as a job is concerned.
pub trait SlurmApi {
    /// Submits `job`; its id and the whole answer (which may carry warnings).
    fn submit_job(&self, job: &JobRequest) -> Result<(u64, Value), ClientError>;

    /// The record of job `id` (one job object, with `job_state`).
    fn job_record(&self, id: u64) -> Result<Value, ClientError>;

    /// Polls job `id` until it leaves the active states or the timeout passes; `tick` sees
    /// each state. The record of the ended job.
    fn wait_job(
        &self,
        id: u64,
        poll: JobPoll,
        tick: &mut dyn FnMut(&str),
    ) -> Result<Value, ClientError> {
        let start = Instant::now();
        let mut delay = poll.interval.unwrap_or(Duration::from_millis(500));
        loop {
            let job = self.job_record(id)?;
            let state = job_state(&job);
            tick(&state);
            if !is_active(&state) {
                return Ok(job);
            }
            if start.elapsed() + delay > poll.timeout {
                return Err(ClientError::WaitTimeout {
                    what: format!("job {id} ({state})"),
                    secs: poll.timeout.as_secs(),
                });
            }
            std::thread::sleep(delay);
            if poll.interval.is_none() {
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

impl SlurmApi for SlurmClient {
    fn submit_job(&self, job: &JobRequest) -> Result<(u64, Value), ClientError> {
        self.submit(job)
    }

    fn job_record(&self, id: u64) -> Result<Value, ClientError> {
        self.job(id)
    }
}

/// The job id in a submission's answer (`job_id`, or `result.job_id` in older versions).
pub fn submitted_job_id(v: &Value) -> Result<u64, ClientError> {
    let number = |j: &Value| {
        j.as_u64()
            .or_else(|| j.as_str().and_then(|s| s.parse().ok()))
    };
    v.get("job_id")
        .and_then(number)
        .or_else(|| {
            v.get("result")
                .and_then(|r| r.get("job_id"))
                .and_then(number)
        })
        .ok_or_else(|| ClientError::Decode {
            what: "job submit".into(),
            detail: format!("no job_id in {}", excerpt(v.to_string().as_bytes(), &[])),
        })
}
