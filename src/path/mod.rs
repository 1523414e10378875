//! Path normalization: done once, shared by the route matcher and the upstream.
