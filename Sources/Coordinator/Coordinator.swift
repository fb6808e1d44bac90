// The Coordinator module; see Package.swift for its role.
