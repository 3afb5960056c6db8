//! Measuring several targets in turn, round by round, which goes first alternating: the
//! machine's drift over the minutes of a run then falls on all alike, and each round's ratio is
//! of figures taken seconds apart.

use crate::scenarios::quiet_machine;
use crate::target::Stack;
use crate::wrk::{self, Body, Run};

/// `rounds` rounds of `measure(index)` for each index below `N`, the first alternating between
/// index 0 and the last: each round's figures, in index order.
pub async fn in_turn<const N: usize, F, Fut>(
    rounds: usize,
    mut measure: F,
) -> anyhow::Result<Vec<[f64; N]>>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<f64>>,
{
    let mut figures = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..N).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        let mut figure = [0.0; N];
        for index in order {
            figure[index] = measure(index).await?;
        }
        figures.push(figure);
    }
    Ok(figures)
}

/// `GET url` with each of `targets`' cookie, in turn (as [`in_turn`]), `rounds` times at
/// `connections`, each a wrk run of the stack's run time after the machine has quietened: each
/// round's requests per second. `name` names the wrk scripts.
pub async fn get_in_turn<const N: usize>(
    stack: &Stack,
    name: &str,
    targets: [(&str, &str); N],
    rounds: usize,
    connections: u32,
) -> anyhow::Result<Vec<[f64; N]>> {
    in_turn(rounds, |index| {
        let (url, cookie) = targets[index];
        async move {
            quiet_machine(&format!("{name} {index}")).await?;
            let run = Run {
                url: url.to_owned(),
                connections,
                duration: stack.run_time,
                cookie: Some(cookie),
                body: Body::Get,
            };
            let script = format!("{name}-{index}-c{connections}");
            Ok(wrk::run(&stack.wrk, &stack.work_dir, &script, &run)
                .await?
                .ok_per_second())
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_round_measures_all_and_the_first_alternates() {
        let mut calls = Vec::new();
        let figures = in_turn::<2, _, _>(3, |index| {
            calls.push(index);
            let figure = calls.len() as f64;
            async move { Ok(figure) }
        })
        .await
        .unwrap();
        assert_eq!(calls, [0, 1, 1, 0, 0, 1]);
        // Each round's figures in index order, whichever ran first.
        assert_eq!(figures, [[1.0, 2.0], [4.0, 3.0], [5.0, 6.0]]);
    }
}
