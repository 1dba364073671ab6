DETACH {alias};
