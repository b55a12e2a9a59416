/** Images the global model draws after the latest committed round; a new URL each round reloads it. */
export function SampleGrid({ round }: { round: number }) {
  return (
    <div className="card samples">
      <h2>Global model samples {round > 0 ? `after round ${round}` : '(before training)'}</h2>
      <img data-testid="sample-grid" data-round={round} src={`/api/samples?round=${round}`} alt={`Samples from the global model after round ${round}`} />
    </div>
  );
}
