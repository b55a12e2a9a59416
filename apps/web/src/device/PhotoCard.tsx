// Choose photos from this phone or computer; the tab keeps a 32x32 copy of each (photos.ts) as this
// device's training data in "my photos" mode (DataCard). On a phone the picker offers the gallery
// and the camera.
import { useEffect, useRef, useState } from 'react';
import { PHOTO_SIZE } from '@fedbit/datasets/photos';
import type { StoredPhoto } from './photos';

interface Props {
  photos: StoredPhoto[];
  onAdd: (files: File[]) => Promise<string[]>;
  onDelete: (id: number) => void;
}

function Thumb({ photo, onDelete }: { photo: StoredPhoto; onDelete: () => void }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const image = ctx.createImageData(PHOTO_SIZE, PHOTO_SIZE);
    for (let i = 0; i < PHOTO_SIZE * PHOTO_SIZE; i++) image.data.set([photo.pixels[i * 3], photo.pixels[i * 3 + 1], photo.pixels[i * 3 + 2], 255], i * 4);
    ctx.putImageData(image, 0, 0);
  }, [photo]);
  return (
    <figure className="thumb" data-testid="photo">
      <canvas ref={ref} width={PHOTO_SIZE} height={PHOTO_SIZE} />
      <figcaption>
        <button type="button" aria-label="delete this photo" onClick={onDelete}>
          ×
        </button>
      </figcaption>
    </figure>
  );
}

export function PhotoCard({ photos, onAdd, onDelete }: Props) {
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<string[]>([]);
  return (
    <div style={{ display: 'grid', gap: '0.5rem' }}>
      <label className="small">
        Choose photos (a small {PHOTO_SIZE}x{PHOTO_SIZE} copy of the middle of each is kept in this browser):
        <input
          type="file"
          accept="image/*"
          multiple
          data-testid="photo-input"
          disabled={busy}
          onChange={(e) => {
            const files = Array.from(e.target.files ?? []);
            e.target.value = '';
            if (files.length === 0) return;
            setBusy(true);
            void onAdd(files).then((p) => (setProblems(p), setBusy(false)));
          }}
        />
      </label>
      {problems.map((p) => (
        <p key={p} className="small error" role="alert">
          {p}
        </p>
      ))}
      <div className="thumbs" data-testid="photos" data-count={photos.length}>
        {photos.map((p) => (
          <Thumb key={p.id} photo={p} onDelete={() => onDelete(p.id)} />
        ))}
      </div>
    </div>
  );
}
