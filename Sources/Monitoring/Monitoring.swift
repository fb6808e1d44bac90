// The Monitoring module; see Package.swift for its role.
