// Package progress is the live view of `swarmtopo run --once` on a terminal: the plan's steps
// with a marker on the one in hand, the fault tolerance now and the plan's floor, how long the
// step in hand has been settling, the count of steps done, and a summary line at the end.
//
// Model holds the view's state and renders it; it is pure, so its tests are golden text. View
// runs it on a terminal with bubbletea, fed by the controller's OnPlan, OnStep and OnPass
// hooks, and prints log lines above it so that they never tear it.
package progress
