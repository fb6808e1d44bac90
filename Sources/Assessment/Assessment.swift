// The Assessment module; see Package.swift for its role.
