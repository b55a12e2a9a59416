// Draw a digit with a finger or the mouse, say which digit it is, keep it in this tab. The kept
// drawings are this device's training data in "my drawings" mode (DataCard).
import { useEffect, useRef, useState, type PointerEvent } from 'react';
import { DRAWN_SIZE, frameDrawing } from '@fedbit/datasets/drawn';
import type { StoredDrawing } from './drawings';

const CANVAS_PX = 280;
const PEN_PX = 22;

interface Props {
  drawings: StoredDrawing[];
  onSave: (label: number, pixels: Uint8Array) => Promise<void>;
  onDelete: (id: number) => void;
}

function Thumb({ drawing, onDelete }: { drawing: StoredDrawing; onDelete: () => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const image = ctx.createImageData(DRAWN_SIZE, DRAWN_SIZE);
    drawing.pixels.forEach((v, i) => image.data.set([v, v, v, 255], i * 4));
    ctx.putImageData(image, 0, 0);
  }, [drawing]);
  return (
    <figure className="thumb" data-testid="drawing" data-label={drawing.label}>
      <canvas ref={ref} width={DRAWN_SIZE} height={DRAWN_SIZE} />
      <figcaption>
        {drawing.label}
        <button type="button" aria-label={`delete this ${drawing.label}`} onClick={onDelete}>
          ×
        </button>
      </figcaption>
    </figure>
  );
}

export function DrawCard({ drawings, onSave, onDelete }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [label, setLabel] = useState<number | null>(null);
  const [inked, setInked] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const clear = () => {
    const ctx = canvas.current?.getContext('2d', { willReadFrequently: true });
    if (!ctx) return;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, CANVAS_PX, CANVAS_PX);
    setInked(false);
  };
  useEffect(clear, []);

  const point = (e: PointerEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    return { x: ((e.clientX - box.left) / box.width) * CANVAS_PX, y: ((e.clientY - box.top) / box.height) * CANVAS_PX };
  };
  const line = (to: { x: number; y: number }) => {
    const ctx = canvas.current?.getContext('2d', { willReadFrequently: true });
    if (!ctx) return;
    const from = last.current ?? to;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = PEN_PX;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    last.current = to;
    setInked(true);
  };

  const save = async () => {
    const ctx = canvas.current?.getContext('2d', { willReadFrequently: true });
    if (!ctx || label === null) return;
    const rgba = ctx.getImageData(0, 0, CANVAS_PX, CANVAS_PX).data;
    const grey = new Uint8Array(CANVAS_PX * CANVAS_PX);
    for (let i = 0; i < grey.length; i++) grey[i] = rgba[i * 4];
    const pixels = frameDrawing(grey, CANVAS_PX, CANVAS_PX);
    if (!pixels) return setProblem('Draw a digit first.');
    try {
      await onSave(label, pixels);
      setProblem(null);
      clear();
    } catch (error) {
      setProblem((error as Error).message);
    }
  };

  return (
    <div className="draw" data-testid="draw-card">
      <canvas
        ref={canvas}
        data-testid="draw-canvas"
        width={CANVAS_PX}
        height={CANVAS_PX}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          last.current = null;
          line(point(e));
        }}
        onPointerMove={(e) => {
          if (last.current) line(point(e));
        }}
        onPointerUp={() => (last.current = null)}
        onPointerCancel={() => (last.current = null)}
      />
      <div className="digits" role="group" aria-label="Which digit is it?">
        {Array.from({ length: 10 }, (_, d) => (
          <button key={d} type="button" data-testid={`label-${d}`} aria-pressed={label === d} className={label === d ? 'primary' : ''} onClick={() => setLabel(d)}>
            {d}
          </button>
        ))}
      </div>
      <div className="row">
        <button type="button" data-testid="draw-clear" onClick={clear} disabled={!inked}>
          Clear
        </button>
        <button type="button" className="primary" data-testid="draw-save" onClick={() => void save()} disabled={!inked || label === null}>
          {label === null ? 'Pick the digit to save' : `Save as ${label}`}
        </button>
      </div>
      {problem && (
        <p className="small error" role="alert">
          {problem}
        </p>
      )}
      <div className="thumbs" data-testid="drawings" data-count={drawings.length}>
        {drawings.map((d) => (
          <Thumb key={d.id} drawing={d} onDelete={() => onDelete(d.id)} />
        ))}
      </div>
    </div>
  );
}
