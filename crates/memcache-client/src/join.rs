//! Runs one future per server concurrently and collects their results in
//! input order, stopping at the first error: what a multi-server call needs
//! of `futures::future::try_join_all`, without the futures-util crate (and
//! the three packages it brings) in every user's build.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

/// Awaits every future; `Err` as soon as one fails (the others are dropped,
/// which cancels them), else all outputs in input order.
pub(crate) async fn try_join_all<T, E, F>(futures: impl IntoIterator<Item = F>) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    // Boxed so the futures need not be `Unpin`: one allocation per server.
    let mut pending: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<T>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut all_done = true;
        for (slot, output) in pending.iter_mut().zip(outputs.iter_mut()) {
            let Some(future) = slot else { continue };
            match future.as_mut().poll(cx) {
                Poll::Ready(Ok(value)) => {
                    *output = Some(value);
                    *slot = None;
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => all_done = false,
            }
        }
        if all_done {
            Poll::Ready(Ok(outputs.iter_mut().filter_map(Option::take).collect()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::try_join_all;

    #[tokio::test(flavor = "current_thread")]
    async fn outputs_keep_input_order_whatever_order_they_finish_in() {
        let delays = [30u64, 0, 10];
        let joined = try_join_all(delays.iter().map(|&ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, ()>(ms)
        }))
        .await;
        assert_eq!(joined, Ok(vec![30, 0, 10]));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_first_error_ends_the_join_without_waiting_for_the_rest() {
        let joined = try_join_all((0..3u64).map(|i| async move {
            if i == 1 {
                return Err(i);
            }
            // Would hang the test if the join waited for it.
            std::future::pending::<()>().await;
            Ok(i)
        }))
        .await;
        assert_eq!(joined, Err(1));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn no_futures_join_to_an_empty_list() {
        let none: Vec<std::future::Ready<Result<u8, ()>>> = Vec::new();
        assert_eq!(try_join_all(none).await, Ok(vec![]));
    }
}
