// Images drawn by the global model after the latest committed round; the URL changes each round.
export function SamplesCard({ round }: { round: number }) {
  return (
    <div className="card samples">
      <h2>What the shared model draws now{round > 0 ? ` (after round ${round})` : ' (before training)'}</h2>
      <p className="small muted" style={{ marginTop: 0 }}>
        Noise at first: rough shapes appear after some rounds, and clearer digits as more devices add their training.
      </p>
      <img data-testid="samples" data-round={round} src={`/api/samples?round=${round}`} alt={`Samples from the global model after round ${round}`} width={256} height={256} />
    </div>
  );
}
