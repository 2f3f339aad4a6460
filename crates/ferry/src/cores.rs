//! Spreading independent work over the machine's cores.

/// `items` mapped by `f`, in order, spread over the machine's cores (at
/// most 8) when there are at least `min` of them: reading, stat'ing or
/// rewriting thousands of files is mostly waiting on the kernel. Written
/// by hand: a few lines of scoped threads, where a pool crate would start
/// its threads for every short command.
pub(crate) fn map_on_cores<T: Send, R: Send>(items: Vec<T>, min: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if items.len() < min.max(2) || threads < 2 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    let mut items = items.into_iter();
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let part: Vec<T> = items.by_ref().take(chunk).collect();
                s.spawn(move || part.into_iter().map(f).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_whether_spread_or_not() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled: Vec<u32> = items.iter().map(|i| i * 2).collect();
        assert_eq!(map_on_cores(items.clone(), 0, |i| i * 2), doubled);
        assert_eq!(map_on_cores(items, usize::MAX, |i| i * 2), doubled);
        assert!(map_on_cores(Vec::<u32>::new(), 0, |i| i).is_empty());
    }
}
